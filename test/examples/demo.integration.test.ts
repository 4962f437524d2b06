import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

interface DemoResult {
  requests: number;
  errors: number;
  perInstance: Record<string, number>;
  originals: string[];
  killed: string;
  rolled: { from: string; to: string }[];
  consulUi: string;
  metrics: string;
  status: string;
  children: { label: string; pid: number; fate: string }[];
  durationMs: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run demo -- --requests 600 --json', () => {
  it('kills one instance and rolls the others under load with no gateway error, then leaves nothing running', async () => {
    const demo = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'examples/demo.ts', '--requests', '600', '--json'],
      {
        cwd: resolve(__dirname, '../..'),
        // Its own agent on a free port, whatever agent this run uses.
        env: { ...process.env, DEMO_CONSUL_PORT: '0', CONSUL_HTTP_ADDR: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    demo.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(demo, 'exit')) as [number | null];
    // One JSON object, nothing else, on stdout (progress goes to stderr).
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!) as DemoResult;
    if (code !== 0 || result.errors !== 0) process.stderr.write(stderr);
    process.stdout.write(
      `\ndemo: ${result.requests} requests in ${result.durationMs} ms, ${result.errors} errors, per instance ${JSON.stringify(Object.values(result.perInstance))}\n`,
    );

    expect(result.requests).toBe(600);
    expect(result.errors).toBe(0);
    expect(code).toBe(0);
    // All three originals served, one was killed, the other two were replaced one by one and
    // each replacement served too.
    expect(result.originals).toHaveLength(3);
    for (const id of result.originals) expect(result.perInstance[id]).toBeGreaterThan(0);
    expect(result.killed).toBe(result.originals[0]);
    expect(result.rolled.map((r) => r.from)).toEqual(result.originals.slice(1));
    for (const { to } of result.rolled) expect(result.perInstance[to]).toBeGreaterThan(0);
    expect(Object.values(result.perInstance).reduce((a, b) => a + b, 0)).toBe(600);
    expect(result.consulUi).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui\/dc1\/services$/);
    expect(result.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(stderr).toContain('All stopped; nothing left running.');

    // Nothing left running: the agent and the gateway refuse connections, every child is gone.
    await expect(fetch(new URL('/v1/status/leader', result.consulUi))).rejects.toThrow();
    await expect(fetch(result.metrics)).rejects.toThrow();
    expect(result.children).toHaveLength(6);
    for (const child of result.children) expect(isRunning(child.pid)).toBe(false);
  }, 240_000);
});
