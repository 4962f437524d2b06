import { spawn } from 'node:child_process';
import { request } from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startConsulCluster } from '../../src/testing';

/** The agent a plain-HTTP scale run talks to: its address, its process, and how to remove it. */
export interface ScaleAgent {
  readonly address: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * One Consul server as production runs it (`-server`, Raft on disk, Consul's default limits,
 * `http_max_conns_per_client` 200), not a `-dev` agent: a dev agent pretty-prints every JSON
 * answer (the check watch's 1,000 checks are 456 KB instead of 281 KB, encoded twice), which no
 * agent users deploy does, and on a 2-core host that cost was charged to the watchers measured.
 * TLS runs keep the dev agent (startConsul's `tls`), whose answers over h2 are few and small.
 */
export async function startScaleAgent(): Promise<ScaleAgent> {
  const cluster = await startConsulCluster({ servers: 1 });
  const server = cluster.servers[0]!;
  return { address: server.address, pid: server.pid!, stop: () => cluster.stop() };
}

/**
 * One HTTP call on a connection of its own, closed after it (so that the socket counts of the
 * tests see only the connections of the code under test): resolves with status and body.
 */
export function agentCall(
  address: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, address), { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * Registers `count` services `PREFIX-0..` in the catalog (on node `scale-node`, one passing check
 * each): a catalog write is one Raft entry, far cheaper than an agent registration and its sync.
 */
export async function registerServices(
  address: string,
  prefix: string,
  count: number,
): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const node = await agentCall(address, 'PUT', '/v1/catalog/register', {
    Node: 'scale-node',
    Address: '127.0.0.1',
  });
  if (node.status !== 200) throw new Error(`register node: ${node.status} ${node.text}`);
  // In transactions of 64 registrations (Consul allows 128 operations per transaction).
  const batches: string[][] = [];
  for (let i = 0; i < names.length; i += 64) batches.push(names.slice(i, i + 64));
  const workers = Array.from({ length: 2 }, async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      const operations = batch.flatMap((name) => [
        {
          Service: {
            Verb: 'set',
            Node: 'scale-node',
            Service: { ID: `${name}-0`, Service: name, Address: '127.0.0.1', Port: 20_000 },
          },
        },
        {
          Check: {
            Verb: 'set',
            Check: {
              Node: 'scale-node',
              CheckID: `check-${name}`,
              Name: 'scale',
              Status: 'passing',
              ServiceID: `${name}-0`,
            },
          },
        },
      ]);
      const answer = await agentCall(address, 'PUT', '/v1/txn', operations);
      if (answer.status !== 200) throw new Error(`register: ${answer.status} ${answer.text}`);
    }
  });
  await Promise.all(workers);
  return names;
}

/**
 * Registers `count` instances `SERVICE-i` of one service `service` in the catalog, spread over
 * nodes of 1,000 instances each (one passing check each, addresses 127.1.x.y): one large health
 * answer, written in transactions like registerServices.
 */
export async function registerInstancesOf(
  address: string,
  service: string,
  count: number,
): Promise<void> {
  const nodes = Array.from({ length: Math.ceil(count / 1000) }, (_, n) => ({
    Node: { Verb: 'set', Node: { Node: `${service}-node-${n}`, Address: '127.0.0.1' } },
  }));
  const registered = await agentCall(address, 'PUT', '/v1/txn', nodes);
  if (registered.status !== 200) throw new Error(`nodes: ${registered.status} ${registered.text}`);
  const ids = Array.from({ length: count }, (_, i) => i);
  // 64 instances of two operations each per transaction (Consul allows 128).
  const batches: number[][] = [];
  for (let i = 0; i < ids.length; i += 64) batches.push(ids.slice(i, i + 64));
  const workers = Array.from({ length: 2 }, async () => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      const answer = await agentCall(
        address,
        'PUT',
        '/v1/txn',
        batch.flatMap((i) => instanceOperations(service, i)),
      );
      if (answer.status !== 200) throw new Error(`register: ${answer.status} ${answer.text}`);
    }
  });
  await Promise.all(workers);
}

/** The catalog transaction operations that register instance `i` of `service` on its node (see registerInstancesOf). */
export function instanceOperations(
  service: string,
  i: number,
  node = `${service}-node-${Math.floor(i / 1000)}`,
): unknown[] {
  const id = `${service}-${i}`;
  return [
    {
      Service: {
        Verb: 'set',
        Node: node,
        Service: {
          ID: id,
          Service: service,
          Address: `127.1.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`,
          Port: 20_000 + (i % 1000),
        },
      },
    },
    {
      Check: {
        Verb: 'set',
        Check: {
          Node: node,
          CheckID: `check-${id}`,
          Name: 'scale',
          Status: 'passing',
          ServiceID: id,
        },
      },
    },
  ];
}

/** Registers one instance with a passing TTL check (Consul never calls it). */
export async function registerInstance(
  address: string,
  name: string,
  id: string,
  port: number,
): Promise<void> {
  const answer = await agentCall(address, 'PUT', '/v1/agent/service/register', {
    Name: name,
    ID: id,
    Address: '127.0.0.1',
    Port: port,
    Check: { CheckID: `ttl-${id}`, TTL: '1h', Status: 'passing' },
  });
  if (answer.status !== 200) throw new Error(`register ${id}: ${answer.status} ${answer.text}`);
}

/** Sets the TTL check of instance `id` (registered by registerInstance) to `status`. */
export async function setCheck(
  address: string,
  id: string,
  status: 'pass' | 'fail',
): Promise<void> {
  const answer = await agentCall(address, 'PUT', `/v1/agent/check/${status}/ttl-${id}`);
  if (answer.status !== 200) throw new Error(`check ${id}: ${answer.status} ${answer.text}`);
}

/**
 * ESTABLISHED TCP connections of process `pid` to `port` on loopback: the socket inodes of its
 * fds matched against /proc/net/tcp (so sockets of other processes, the agent's included, are not
 * counted).
 */
export function socketsTo(port: number, pid: number | 'self' = 'self'): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]!);
    } catch {
      // The fd closed while we looked.
    }
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // fields: sl local rem st ... inode (index 9)
      if (fields.length < 10) continue;
      const remote = fields[2]!;
      if (fields[3] !== '01' || !remote.endsWith(`:${portHex}`)) continue;
      if (inodes.has(fields[9]!)) count += 1;
    }
  }
  return count;
}

/** Samples `read()` every `intervalMs` and keeps the maximum; `stop()` returns it. */
export function sampleMax(read: () => number, intervalMs = 25): { stop(): number } {
  let max = read();
  const timer = setInterval(() => {
    max = Math.max(max, read());
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, read());
    },
  };
}

/**
 * Another Consul client on the same address (the CLI, a sidecar): a child process that reads
 * `/v1/agent/self` every 50 ms over a fresh connection each time, as a CLI would, and counts
 * the answers by status. An https address is read over TLS without verifying the agent's
 * certificate (the probe counts refusals, it trusts nothing it reads).
 */
export class ProbeClient {
  private readonly child: ChildProcess;
  private readonly statuses = new Map<number, number>();
  private readonly done: Promise<void>;

  constructor(address: string) {
    const script = `
      const url = new URL('/v1/agent/self', ${JSON.stringify(address)});
      const http = require(url.protocol === 'https:' ? 'node:https' : 'node:http');
      let stopping = false;
      process.stdin.on('data', () => { stopping = true; });
      (async () => {
        // Bounded: at most 10 minutes of probing, whatever happens to the parent.
        for (let i = 0; i < 12000 && !stopping; i++) {
          const status = await new Promise((resolve) => {
            const req = http.get(url, { agent: false, rejectUnauthorized: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
            req.on('error', () => resolve(0));
            req.setTimeout(5000, () => { req.destroy(); });
          });
          process.stdout.write(status + '\\n');
          await new Promise((r) => setTimeout(r, 50));
        }
        process.exit(0);
      })();
    `;
    this.child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      const status = Number(line);
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    });
    this.done = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  /** Answers by status so far (0: connection error). */
  counts(): ReadonlyMap<number, number> {
    return this.statuses;
  }

  /** Answers other than 200 so far. */
  refused(): number {
    let refused = 0;
    for (const [status, count] of this.statuses) if (status !== 200) refused += count;
    return refused;
  }

  total(): number {
    let total = 0;
    for (const count of this.statuses.values()) total += count;
    return total;
  }

  async stop(): Promise<void> {
    this.child.stdin?.end('stop\n');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 6_000);
    await this.done;
    clearTimeout(killer);
  }
}

/** The p-th percentile (0-100) of `values`, nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * HTTP requests the agent has served so far, from its Prometheus metrics (`consul_api_http`
 * summaries, one per method and path): needs `telemetry { prometheus_retention_time }` set.
 */
export async function agentRequestCount(address: string): Promise<number> {
  const answer = await agentCall(address, 'GET', '/v1/agent/metrics?format=prometheus');
  if (answer.status !== 200) throw new Error(`metrics: ${answer.status} ${answer.text}`);
  let count = 0;
  for (const line of answer.text.split('\n')) {
    const match = /^consul_api_http_count\{[^}]*\} (\d+(?:\.\d+)?(?:e\+\d+)?)$/.exec(line);
    if (match) count += Number(match[1]);
  }
  return count;
}

/**
 * A control for change timings: resolves with the moment (epoch ms) Consul itself answers a
 * blocking query on `/v1/health/service/NAME` from its index at call time, i.e. when the change
 * became visible at the agent, read over a connection of its own. The time a library under test
 * adds is the gap between this and what it reports.
 */
export async function consulSeesChange(
  address: string,
  service: string,
): Promise<() => Promise<number>> {
  const first = await new Promise<string>((resolve, reject) => {
    const req = request(
      new URL(`/v1/health/service/${service}`, address),
      { agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-consul-index'])));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const seen = new Promise<number>((resolve, reject) => {
    const req = request(
      new URL(`/v1/health/service/${service}?index=${first}&wait=20s`, address),
      { agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(Date.now()));
      },
    );
    req.on('error', reject);
    req.end();
  });
  return () => seen;
}

/**
 * Registers one more instance `id` of `name` in the catalog, on the node registerServices made
 * (a passing check of its own): one Raft write, visible to blocking queries when it returns. An
 * agent registration (registerInstance) reaches the catalog through the agent's anti-entropy
 * sync, whose delay (50-280 ms on a loaded 2-core host) is the agent's, not the watchers'.
 */
export async function registerCatalogInstance(
  address: string,
  name: string,
  id: string,
  port: number,
): Promise<void> {
  const answer = await agentCall(address, 'PUT', '/v1/catalog/register', {
    Node: 'scale-node',
    Address: '127.0.0.1',
    Service: { ID: id, Service: name, Address: '127.0.0.1', Port: port },
    Check: { CheckID: `check-${id}`, Name: 'scale', Status: 'passing', ServiceID: id },
  });
  if (answer.status !== 200) throw new Error(`register ${id}: ${answer.status} ${answer.text}`);
}
