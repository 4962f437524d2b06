import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../harness/free-port';
import { waitFor } from '../../harness/wait-for';

/** One series of an instant-query answer. */
export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

let prometheusBinary: string | undefined;

/**
 * Path of the Prometheus binary `scripts/prometheus.sh` finds or builds (cached outside the clone;
 * CI runs the script before the tests, so here it only looks the binary up).
 */
export function prometheusBinaryPath(): string {
  prometheusBinary ??= execFileSync('bash', [resolve(__dirname, '../../scripts/prometheus.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return prometheusBinary;
}

/**
 * Runs Debian's `promtool` (package `prometheus`) with `args` and `input` on stdin. Throws a clear
 * error when it is not installed rather than letting a test pass without it.
 */
export function promtool(
  args: readonly string[],
  input?: string,
): { status: number; output: string } {
  const result = spawnSync('promtool', args, {
    input,
    encoding: 'utf8',
    cwd: resolve(__dirname, '../../deploy/prometheus'),
  });
  if (result.error)
    throw new Error(
      `promtool could not run (${result.error.message}); install it: apt-get install -y prometheus`,
    );
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

const live = new Set<ChildProcess>();
// Last line of defence: a crashed test run must not leave Prometheus behind.
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A real Prometheus on a free loopback port with its own config and a throwaway TSDB. */
export class PrometheusServer {
  private output = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly address: string,
  ) {}

  /** Writes `config` (and `files`) into a fresh directory and starts Prometheus on it; resolves once ready. */
  static async start(
    config: string,
    files: Record<string, string> = {},
  ): Promise<PrometheusServer> {
    const dir = mkdtempSync(join(tmpdir(), 'express-consul-prometheus-'));
    writeFileSync(join(dir, 'prometheus.yml'), config);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const port = await freePort();
    const child = spawn(
      prometheusBinaryPath(),
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(child);
    const server = new PrometheusServer(child, dir, `http://127.0.0.1:${port}`);
    const collect = (chunk: Buffer): void => {
      server.output = (server.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exitedEarly = once(child, 'exit').then(() => {
      throw new Error(`prometheus exited during start-up:\n${server.output}`);
    });
    exitedEarly.catch(() => {});
    try {
      await Promise.race([
        exitedEarly,
        waitFor(
          `prometheus on port ${port} to be ready`,
          async () =>
            (await request(`${server.address}/-/ready`)).statusCode === 200 ? true : undefined,
          { timeoutMs: 60_000, intervalMs: 250 },
        ),
      ]);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** The last lines Prometheus logged, for failure messages. */
  get log(): string {
    return this.output;
  }

  /** GET /api/v1/PATH and return `data`; throws on an API error. */
  async api<T>(path: string): Promise<T> {
    const response = await request(`${this.address}/api/v1/${path}`);
    const body = (await response.body.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success')
      throw new Error(`prometheus API ${path}: ${body.error ?? response.statusCode}`);
    return body.data;
  }

  /** An instant query, as samples with numeric values. */
  async query(promql: string): Promise<PromSample[]> {
    const data = await this.api<{
      resultType: string;
      result: { metric: Record<string, string>; value: [number, string] }[];
    }>(`query?query=${encodeURIComponent(promql)}`);
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** SIGTERM, wait for the exit, remove the directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      await exited;
    }
    live.delete(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
