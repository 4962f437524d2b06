import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../harness/free-port';
import { stopProcess } from './child-process';

/** An HAProxy sidecar on loopback that finds a service's instances through Consul DNS SRV. */
export interface HaproxySidecar {
  /** `http://127.0.0.1:PORT` of its frontend. */
  readonly address: string;
  readonly pid: number;
  /** Stops it (SIGTERM, SIGKILL after 3 s), removes its config. Idempotent. */
  stop(): Promise<void>;
}

/** `haproxy -v`'s version, or undefined when HAProxy is not installed. */
export function haproxyVersion(): string | undefined {
  try {
    const out = execFileSync('haproxy', ['-v'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /version (\S+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Starts `haproxy` with a generated config: `resolvers consul` pointing at the agent's DNS port and
 * one backend of `slots` servers from `server-template` over `_SERVICE._tcp.service.consul`
 * (the service name must be DNS-safe: no `_`). One thread, as a sidecar next to one client
 * process; DNS answers held 1 s and re-resolved every second (HAProxy's default `timeout resolve`).
 */
export async function startHaproxy(options: {
  readonly dnsPort: number;
  readonly service: string;
  readonly slots: number;
}): Promise<HaproxySidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-haproxy-'));
  const port = await freePort();
  const config = [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    'resolvers consul',
    `  nameserver c 127.0.0.1:${options.dnsPort}`,
    '  accepted_payload_size 8192',
    '  hold valid 1s',
    '  timeout resolve 1s',
    'frontend sidecar',
    `  bind 127.0.0.1:${port}`,
    '  default_backend instances',
    'backend instances',
    '  balance roundrobin',
    '  http-reuse always',
    `  server-template s ${options.slots} _${options.service}._tcp.service.consul resolvers consul resolve-prefer ipv4 check inter 1s`,
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await stopProcess(child, 3_000);
      rmSync(dir, { recursive: true, force: true });
    })());
  process.once('exit', () => child.kill('SIGKILL'));
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (child.exitCode !== null || child.pid === undefined) {
    await stop();
    throw new Error(`haproxy exited at start-up:\n${stderr}`);
  }
  return { address: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}

/** Waits until answers through the sidecar have come from every one of `instances` (x-instance). */
export async function waitForBackends(
  address: string,
  instances: readonly string[],
  timeoutMs = 15_000,
): Promise<void> {
  const { request } = await import('undici');
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (instances.some((id) => !seen.has(id))) {
    if (Date.now() > deadline) {
      throw new Error(
        `HAProxy reached ${seen.size} of ${instances.length} instances in ${timeoutMs} ms`,
      );
    }
    try {
      const res = await request(`${address}/`);
      await res.body.text();
      if (res.statusCode === 200) seen.add(String(res.headers['x-instance']));
      else await new Promise((resolve) => setTimeout(resolve, 50));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
