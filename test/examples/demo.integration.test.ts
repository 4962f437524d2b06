import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

describe('npm run demo', () => {
  it('starts Consul with its UI, the services and the gateway, then stops everything it started', async () => {
    const demo = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'examples/demo.ts'],
      {
        cwd: resolve(__dirname, '../..'),
        env: {
          ...process.env,
          DEMO_DURATION_MS: '9000',
          DEMO_CONSUL_PORT: '0',
          CONSUL_HTTP_ADDR: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(demo, 'exit')) as [number | null];
    expect(code).toBe(0);
    const ui = /Consul UI:\s+(http:\/\/127\.0\.0\.1:\d+)\/ui\//.exec(output);
    expect(ui).not.toBeNull();
    expect(output).toMatch(/Consul health of my_service: .*passing.*passing.*passing/);
    expect(output).toMatch(/GET gateway \/ -> 200 \{"message":"Hello from my_service-\d"/);
    expect(output).toContain('All stopped; nothing left running.');
    // The agent the demo started is gone.
    await expect(fetch(`${ui![1]}/v1/status/leader`)).rejects.toThrow();
  }, 60_000);
});
