// `npm run demo`: a dev Consul agent with its UI, three `my_service` instances and a `gateway` that
// calls them by name, under a bounded load the demo sends to the gateway. A live table (refreshed
// every second on a terminal) shows each instance's health, weight and in-flight requests (from the
// gateway's status route) next to the requests, errors and latency the demo measured; meanwhile one
// instance is killed (SIGKILL) and the others are rolled one by one (a replacement starts, then the
// old one drains on SIGTERM), and the gateway's error count stays at zero. Ctrl-C stops everything.
//
//   npm run demo                                   interactive; the load stops after --requests
//   npm run demo -- --requests 600 --json          unattended: one JSON object, exit 0 only when
//                                                  no request failed and all three originals served
// Options: --requests N (default 1500), --rate R requests/s (default 50), --json.
// Environment: DEMO_CONSUL_PORT (default 8500 when free, 0 = any), DEMO_DURATION_MS (interactive:
// stop by itself after that many ms).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once, setMaxListeners } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { ConsulClient } from '../src/consul/consul-client';
import { fetchStatusDocument } from '../src/cli/read-status';
import type { StatusDocument } from '../src/cli/status-document';
import { healthTone, paint, renderTable, wantsColour } from '../src/cli/table';
import type { Cell } from '../src/cli/table';
import { startConsul } from '../src/testing';

// ---------------------------------------------------------------------------------------------
// Options

interface DemoOptions {
  readonly requests: number;
  readonly ratePerSecond: number;
  readonly json: boolean;
  readonly durationMs: number;
}

function demoOptions(): DemoOptions {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '1500' },
      rate: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const integer = (raw: string, name: string, max: number): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max)
      throw new Error(`--${name} must be an integer from 1 to ${max}, got '${raw}'`);
    return value;
  };
  // At least 50 requests: five phases with a few requests each.
  const requests = integer(values.requests, 'requests', 100_000);
  if (requests < 50) throw new Error('--requests must be at least 50 (five phases)');
  return {
    requests,
    ratePerSecond: integer(values.rate, 'rate', 500),
    json: values.json,
    durationMs: Number(process.env.DEMO_DURATION_MS ?? 0) || 0,
  };
}

const options = demoOptions();
const colour = !options.json && wantsColour(process.stdout);
const live = colour; // redraw in place only on a terminal
/** True while the table is redrawn in place: notes then go to the event log under it. */
let redrawing = live;
const started = Date.now();

// ---------------------------------------------------------------------------------------------
// What happened, for the event log under the table (or plain lines when not on a terminal)

const events: string[] = [];
function note(message: string): void {
  const line = `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${message}`;
  if (options.json) process.stderr.write(`${line}\n`);
  else if (redrawing) events.push(line);
  else process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Child processes: the examples, each in its own Node process

type Fate = 'starting' | 'running' | 'draining' | 'exited' | 'killed';

interface Child {
  readonly label: string;
  readonly process: ChildProcess;
  readonly listening: Promise<{ port: number; id: string }>;
  readonly exited: Promise<unknown>;
  /** Consul service id, once it said it listens. */
  id: string | undefined;
  port: number | undefined;
  fate: Fate;
}

const children: Child[] = [];
// Last line of defence: a crash of the demo must not leave services behind.
process.once('exit', () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
});

function startChild(label: string, example: string, env: Record<string, string>): Child {
  const proc = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', `examples/${example}.ts`],
    { cwd: `${__dirname}/..`, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const echo = (line: string): void => note(paint(`[${label}] ${line}`, 'dim', colour));
  const listening = new Promise<{ port: number; id: string }>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let event: { event?: string; port?: number; id?: string };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return echo(line);
      }
      if (event.event === 'listening') resolve({ port: event.port ?? 0, id: event.id ?? '' });
    });
    proc.once('exit', () => reject(new Error(`${label} exited during start-up`)));
  });
  const child: Child = {
    label,
    process: proc,
    listening,
    exited: once(proc, 'exit'),
    id: undefined,
    port: undefined,
    fate: 'starting',
  };
  void listening.then(({ port, id }) => {
    child.id = id;
    child.port = port;
    if (child.fate === 'starting') child.fate = 'running';
  });
  child.listening.catch(() => undefined);
  void child.exited.then(() => {
    if (child.fate !== 'killed') child.fate = 'exited';
  });
  createInterface({ input: proc.stderr }).on('line', echo);
  children.push(child);
  return child;
}

// ---------------------------------------------------------------------------------------------
// Load: a bounded number of requests to the gateway, paced, with measured outcomes

interface Tally {
  requests: number;
  errors: number;
  readonly latenciesMs: number[];
}

const perInstance = new Map<string, Tally>(); // by Consul service id, from the answer's body
const load = {
  sent: 0,
  done: 0,
  errors: 0,
  errorSamples: [] as string[],
  latenciesMs: [] as number[],
};

function tally(serviceId: string): Tally {
  let entry = perInstance.get(serviceId);
  if (!entry) perInstance.set(serviceId, (entry = { requests: 0, errors: 0, latenciesMs: [] }));
  return entry;
}

function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (ms: number | undefined): number | null =>
  ms === undefined ? null : Math.round(ms * 10) / 10;

async function oneRequest(gatewayUrl: string, signal: AbortSignal): Promise<void> {
  const begin = performance.now();
  let failure: string | undefined;
  let servedBy: string | undefined;
  try {
    const answer = await request(gatewayUrl, {
      signal,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = await answer.body.text();
    try {
      servedBy = (JSON.parse(body) as { id?: unknown }).id as string | undefined;
    } catch {
      // Not JSON: counted below as an error of the gateway.
    }
    if (answer.statusCode !== 200) failure = `${answer.statusCode} ${body.slice(0, 120)}`;
    else if (typeof servedBy !== 'string')
      failure = `200 without an instance id: ${body.slice(0, 120)}`;
  } catch (error) {
    if (signal.aborted) return;
    failure = (error as Error).message;
  }
  const ms = performance.now() - begin;
  load.done += 1;
  load.latenciesMs.push(ms);
  if (failure !== undefined) {
    load.errors += 1;
    if (load.errorSamples.length < 5) load.errorSamples.push(failure);
    note(paint(`gateway error: ${failure}`, 'red', colour));
  }
  if (typeof servedBy === 'string') {
    const entry = tally(servedBy);
    entry.requests += 1;
    entry.latenciesMs.push(ms);
    if (failure !== undefined) entry.errors += 1;
  }
}

/**
 * Sends `total` requests at `ratePerSecond`, at most 32 in flight. Before request `i` it awaits
 * `gate(i)`, which lets the scenario hold the load while a replacement is still starting, so the
 * kill and every drain happen under traffic whatever the machine's speed.
 */
async function runLoad(
  gatewayUrl: string,
  total: number,
  ratePerSecond: number,
  gate: (i: number) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let base = performance.now();
  let sentSinceBase = 0;
  for (let i = 0; i < total && !signal.aborted; i++) {
    const before = performance.now();
    await gate(i);
    if (performance.now() - before > 50) {
      // Held by the scenario: pace again from now instead of bursting to catch up.
      base = performance.now();
      sentSinceBase = 0;
    }
    const due = base + (sentSinceBase * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= 32) await Promise.race(inFlight);
    if (signal.aborted) break;
    sentSinceBase += 1;
    load.sent += 1;
    const pending = oneRequest(gatewayUrl, signal).finally(() => inFlight.delete(pending));
    inFlight.add(pending);
  }
  await Promise.all(inFlight);
}

// ---------------------------------------------------------------------------------------------
// The table

let status: StatusDocument | undefined;
let statusError: string | undefined;
/** Service id of the `my_service` instance holding the `jobs` leadership (its KV lock), if any. */
let leaderId: string | undefined;
/** The key `consul.leader('jobs')` of my_service contends for. */
const LEADER_KEY = 'service/my_service/leader/jobs';
let phase = 'starting';

function frame(addresses: Addresses | undefined, node: string): string[] {
  const routed = new Map(
    (status?.upstreams.find((u) => u.service === 'my_service')?.instances ?? []).map((i) => [
      i.serviceId,
      i,
    ]),
  );
  const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  const rows: Cell[][] = children
    .filter((c) => c.label.startsWith('my_service'))
    .map((child) => {
      const seen = child.id === undefined ? undefined : routed.get(child.id);
      const t = child.id === undefined ? undefined : perInstance.get(child.id);
      const fateTone =
        child.fate === 'running'
          ? 'green'
          : child.fate === 'draining'
            ? 'yellow'
            : child.fate === 'starting'
              ? 'dim'
              : 'red';
      const health = seen
        ? (seen.ejectedForMs ?? 0) > 0
          ? { text: `${seen.health}, ejected`, tone: 'red' as const }
          : { text: seen.health, tone: healthTone(seen.health) }
        : { text: 'not routed', tone: 'dim' as const };
      return [
        child.label,
        child.id === undefined ? '-' : `${node}/${child.id}`,
        { text: child.fate, tone: fateTone },
        child.id !== undefined && child.id === leaderId
          ? { text: 'leader', tone: 'green' as const }
          : '-',
        health,
        seen?.weight === undefined ? '-' : String(seen.weight),
        seen?.inFlight === undefined ? '-' : String(seen.inFlight),
        String(t?.requests ?? 0),
        { text: String(t?.errors ?? 0), tone: t?.errors ? 'red' : undefined },
        ms(percentile(t?.latenciesMs ?? [], 50)),
        ms(percentile(t?.latenciesMs ?? [], 99)),
      ];
    });
  const table = renderTable(
    [
      { title: 'INSTANCE' },
      { title: 'ID (NODE/SERVICE ID)' },
      { title: 'PROCESS' },
      { title: 'JOBS' },
      { title: 'HEALTH' },
      { title: 'WEIGHT', align: 'right' },
      { title: 'IN-FLIGHT', align: 'right' },
      { title: 'REQUESTS', align: 'right' },
      { title: 'ERRORS', align: 'right' },
      { title: 'P50', align: 'right' },
      { title: 'P99', align: 'right' },
    ],
    rows,
    colour,
  );
  const budget = status?.upstreams.find((u) => u.service === 'my_service')?.retryBudget;
  const errors = paint(String(load.errors), load.errors === 0 ? 'green' : 'red', colour);
  return [
    paint('express-consul demo', 'bold', colour) + `  phase: ${phase}`,
    ...(addresses
      ? [
          `Consul UI  ${addresses.consulUi}`,
          `Gateway    ${addresses.gateway}   metrics ${addresses.metrics}   status ${addresses.status}`,
        ]
      : []),
    '',
    ...table,
    '',
    `gateway: ${load.done}/${options.requests} requests answered, ${errors} errors, ` +
      `p50 ${ms(percentile(load.latenciesMs, 50))}, p99 ${ms(percentile(load.latenciesMs, 99))}` +
      (budget ? `; retries ${budget.retries}, budget left ${budget.available}` : '') +
      (statusError ? paint(`; status route: ${statusError}`, 'yellow', colour) : ''),
  ];
}

// ---------------------------------------------------------------------------------------------
// The run

interface Addresses {
  readonly consulUi: string;
  readonly gateway: string;
  readonly metrics: string;
  readonly status: string;
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** Resolves once `probe` returns true, checking every 200 ms; throws after `timeoutMs`. */
async function until(
  what: string,
  probe: () => boolean | Promise<boolean>,
  signal: AbortSignal,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (signal.aborted) throw new Error('stopped');
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<number> {
  const wanted =
    process.env.DEMO_CONSUL_PORT === undefined ? 8500 : Number(process.env.DEMO_CONSUL_PORT);
  const httpPort = wanted !== 0 && (await portIsFree(wanted)) ? wanted : undefined;
  const agent = await startConsul({
    mode: 'binary',
    nodeName: 'demo',
    ...(httpPort !== undefined && { httpPort }),
  });
  const consul = new ConsulClient({ address: agent.address, token: '' });
  const stop = new AbortController();
  // Every request in flight (up to 32) and the status poll listen to it.
  setMaxListeners(64, stop.signal);
  // Known once the gateway listens; the shutdown's last frame may come before.
  const shown: { addresses?: Addresses } = {};
  let redraw: NodeJS.Timeout | undefined;

  let stopping: Promise<void> | undefined;
  const shutdown = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      stop.abort();
      if (redraw) clearInterval(redraw);
      if (redrawing) {
        redrawing = false;
        const last = [...frame(shown.addresses, agent.nodeName), '', ...events.slice(-8)];
        process.stdout.write(`\x1b[H\x1b[J${last.join('\n')}\n`);
      }
      note(`${why}: draining the services, then stopping Consul...`);
      for (const child of children)
        if (child.process.exitCode === null) child.process.kill('SIGTERM');
      // A drain has its own deadline (15 s); a child stuck past it is killed.
      const killer = setTimeout(() => {
        for (const child of children) child.process.kill('SIGKILL');
      }, 20_000);
      await Promise.all(children.map((child) => child.exited));
      clearTimeout(killer);
      await consul.close();
      await agent.stop();
      note('All stopped; nothing left running.');
    })());
  let interrupts = 0;
  const onSignal = (name: string) => () => {
    interrupts += 1;
    if (interrupts > 1) for (const child of children) child.process.kill('SIGKILL');
    void shutdown(name);
  };
  process.on('SIGINT', onSignal('Ctrl-C'));
  process.on('SIGTERM', onSignal('SIGTERM'));

  const env = {
    CONSUL_HTTP_ADDR: agent.address,
    CONSUL_HTTP_TOKEN: '',
    CHECK_INTERVAL_MS: '1000',
    PROPAGATION_DELAY_MS: '500',
  };
  let nextInstance = 1;
  const startInstance = (): Child => {
    const label = `my_service-${nextInstance++}`;
    return startChild(label, 'my-service', { ...env, INSTANCE_NAME: label });
  };
  const originals = [startInstance(), startInstance(), startInstance()];
  const gatewayChild = startChild('gateway', 'gateway', env);
  let gatewayPort: number;
  try {
    [{ port: gatewayPort }] = await Promise.all([
      gatewayChild.listening,
      ...originals.map((c) => c.listening),
    ]);
  } catch (error) {
    // Ctrl-C during start-up stops the children on purpose; anything else is a real failure.
    await shutdown(stop.signal.aborted ? 'stopping' : 'start-up failed');
    if (stop.signal.aborted) return 0;
    throw error;
  }
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  const addresses: Addresses = {
    consulUi: `${agent.address}/ui/dc1/services`,
    gateway: `${gateway}/`,
    metrics: `${gateway}/metrics`,
    status: `${gateway}/status`,
  };
  shown.addresses = addresses;
  const printFrame = (): void =>
    void process.stdout.write(`\n${frame(undefined, agent.nodeName).join('\n')}\n\n`);
  if (!live && !options.json)
    for (const line of frame(addresses, agent.nodeName).slice(0, 3)) note(line);

  // The gateway's view, once a second: what the table shows as health, weight and in flight.
  const statusUrl = new URL(addresses.status);
  const pollStatus = async (): Promise<void> => {
    try {
      status = await fetchStatusDocument(statusUrl, { timeoutMs: 2_000, signal: stop.signal });
      statusError = undefined;
      // Who holds the lock: its value names the holder, its Session says it is held now.
      const [lock] = (await consul.kvGet(LEADER_KEY, {}, { signal: stop.signal })).data;
      leaderId =
        lock?.Session !== undefined && lock.Value !== null
          ? (JSON.parse(lock.Value) as { id?: string }).id
          : undefined;
    } catch (error) {
      if (!stop.signal.aborted) statusError = (error as Error).message;
    }
  };
  const poller = (async () => {
    while (!stop.signal.aborted) {
      await pollStatus();
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  if (live) {
    process.stdout.write('\x1b[2J');
    redraw = setInterval(() => {
      const lines = [...frame(addresses, agent.nodeName), '', ...events.slice(-8)];
      process.stdout.write(`\x1b[H\x1b[J${lines.join('\n')}\n`);
    }, 1_000);
  } else if (!options.json) {
    // Not a terminal (a log, a pipe): a table every 5 s while the load runs, no redrawing.
    redraw = setInterval(printFrame, 5_000);
  }
  if (options.durationMs > 0)
    setTimeout(
      () => void shutdown(`DEMO_DURATION_MS=${options.durationMs} elapsed`),
      options.durationMs,
    ).unref();

  const passingInConsul = async (count: number): Promise<boolean> =>
    (await consul.healthService('my_service', { passingOnly: true }, { signal: stop.signal })).data
      .length >= count;
  const routedByGateway = async (child: Child): Promise<boolean> => {
    await pollStatus();
    const instance = status?.upstreams
      .find((u) => u.service === 'my_service')
      ?.instances.find((i) => i.serviceId === child.id);
    return instance?.health === 'passing';
  };

  // The scenario. Load phases are fifths of the requests: [baseline | after the kill | during the
  // first drain | during the second drain | replacements only]. A phase boundary holds the load
  // until its step is done, so every step happens under traffic.
  const fifth = (k: number): number => Math.floor((options.requests * k) / 5);
  const rolled: { from: string; to: string }[] = [];
  let killed: string | undefined;
  const replacements: Child[] = [];
  const steps = new Map<number, () => Promise<void>>();
  steps.set(fifth(1), async () => {
    await until(
      'all three instances to serve a request',
      () => originals.every((c) => (perInstance.get(c.id!)?.requests ?? 0) > 0),
      stop.signal,
    );
    phase = `killed ${originals[0]!.label} (SIGKILL); starting a replacement`;
    originals[0]!.fate = 'killed';
    originals[0]!.process.kill('SIGKILL');
    killed = `${agent.nodeName}/${originals[0]!.id}`;
    note(paint(`SIGKILL ${originals[0]!.label}: no drain, no deregistration`, 'red', colour));
    replacements.push(startInstance());
  });
  const roll = (old: Child, k: number) => async () => {
    const replacement = replacements[replacements.length - 1]!;
    phase = `waiting for ${replacement.label} to pass its check and be routed`;
    await replacement.listening;
    await until(
      `${replacement.label} to be routed by the gateway`,
      () => routedByGateway(replacement),
      stop.signal,
    );
    note(`${replacement.label} is routed by the gateway; SIGTERM ${old.label} (drain)`);
    old.fate = 'draining';
    old.process.kill('SIGTERM');
    rolled.push({ from: `${agent.nodeName}/${old.id}`, to: `${agent.nodeName}/${replacement.id}` });
    phase = `rolling ${old.label} -> ${replacement.label}`;
    void old.exited.then(() => note(`${old.label} drained and exited`));
    if (k < 3) replacements.push(startInstance());
  };
  steps.set(fifth(2), roll(originals[1]!, 2));
  steps.set(fifth(3), async () => {
    await originals[1]!.exited;
    await roll(originals[2]!, 3)();
  });
  steps.set(fifth(4), async () => {
    phase = `waiting for ${originals[2]!.label} to finish its drain`;
    await originals[2]!.exited;
    phase = 'replacements only';
  });

  let result: Record<string, unknown> | undefined;
  let ok = false;
  try {
    note('waiting until Consul reports three passing my_service instances');
    await until('three passing my_service instances', () => passingInConsul(3), stop.signal);
    phase = 'baseline: three instances';
    note(
      `load: ${options.requests} requests at ${options.ratePerSecond}/s to ${addresses.gateway}`,
    );
    await runLoad(
      addresses.gateway,
      options.requests,
      options.ratePerSecond,
      async (i) => {
        const step = steps.get(i);
        if (step) await step();
      },
      stop.signal,
    );
    phase = stop.signal.aborted ? 'stopped' : 'load finished';
    if (!live && !options.json && !stop.signal.aborted) {
      clearInterval(redraw);
      printFrame();
    }
    note(
      `load ${phase === 'stopped' ? 'stopped' : 'finished'}: ${load.done} requests, ${load.errors} errors`,
    );
    const served = Object.fromEntries(
      [...perInstance].map(([id, t]) => [`${agent.nodeName}/${id}`, t.requests]),
    );
    const originalsServed = originals.every((c) => (perInstance.get(c.id!)?.requests ?? 0) > 0);
    ok = !stop.signal.aborted && load.errors === 0 && originalsServed && rolled.length === 2;
    result = {
      requests: load.done,
      errors: load.errors,
      perInstance: served,
      originals: originals.map((c) => `${agent.nodeName}/${c.id}`),
      killed,
      rolled,
      latencyMs: {
        p50: round(percentile(load.latenciesMs, 50)),
        p99: round(percentile(load.latenciesMs, 99)),
      },
      ...(load.errorSamples.length > 0 && { errorSamples: load.errorSamples }),
      consulUi: addresses.consulUi,
      metrics: addresses.metrics,
      status: addresses.status,
      children: children.map((c) => ({ label: c.label, pid: c.process.pid, fate: c.fate })),
      durationMs: Date.now() - started,
    };
  } catch (error) {
    if (!stop.signal.aborted) {
      note(paint(`demo failed: ${(error as Error).message}`, 'red', colour));
      await shutdown('failure');
      await poller;
      return 1;
    }
  }

  if (!options.json && !stop.signal.aborted) {
    note(
      'the load is over; the services keep running. Open the UI, then Ctrl-C to stop everything.',
    );
    await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));
  }
  await shutdown('stopping');
  await poller;
  if (options.json && result) {
    result.durationMs = Date.now() - started;
    result.children = children.map((c) => ({ label: c.label, pid: c.process.pid, fate: c.fate }));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  return options.json ? (ok ? 0 : 1) : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `demo failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
