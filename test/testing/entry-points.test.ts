import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

// The compiled package as a consumer without testcontainers sees it: package.json (with its exports
// map) and dist in node_modules/express-consul, the runtime dependencies beside it, nothing else.
describe('the express-consul/testing entry point', () => {
  let consumer: string;
  beforeAll(() => {
    consumer = mkdtempSync(join(tmpdir(), 'express-consul-entry-'));
    const pkg = join(consumer, 'node_modules', 'express-consul');
    mkdirSync(pkg, { recursive: true });
    copyFileSync(join(root, 'package.json'), join(pkg, 'package.json'));
    execFileSync(
      process.execPath,
      [
        require.resolve('typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        join(pkg, 'dist'),
      ],
      { cwd: root, stdio: 'pipe' },
    );
    for (const dependency of ['prom-client', 'undici', 'tdigest', 'bintrees', '@opentelemetry'])
      symlinkSync(
        join(root, 'node_modules', dependency),
        join(consumer, 'node_modules', dependency),
      );
  }, 120_000);
  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  const node = (args: readonly string[], env: NodeJS.ProcessEnv = {}): string =>
    execFileSync(process.execPath, args, {
      cwd: consumer,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    }).trim();

  it('loads neither from the main entry nor from ./testing until container mode is asked for', () => {
    // testcontainers is resolvable here (NODE_PATH), so only the code's laziness keeps it unloaded.
    const loaded = node(
      [
        '-e',
        `const main = require('express-consul');
       const testing = require('express-consul/testing');
       const tc = Object.keys(require.cache).filter((file) => file.includes('testcontainers'));
       require.resolve('testcontainers');
       console.log(typeof main.expressConsul, typeof testing.startConsul, typeof main.startConsul, tc.length);`,
      ],
      { NODE_PATH: join(root, 'node_modules') },
    );
    expect(loaded).toBe('function function undefined 0');
  });

  it('resolves for ESM consumers too', () => {
    const esm = node([
      '--input-type=module',
      '-e',
      "import { startConsul, DEFAULT_CONSUL_IMAGE } from 'express-consul/testing'; console.log(typeof startConsul, DEFAULT_CONSUL_IMAGE)",
    ]);
    expect(esm).toBe('function hashicorp/consul:1.16.3');
  });

  it('says what to install when container mode is asked for without testcontainers', () => {
    const answer = node([
      '-e',
      `require('express-consul/testing').startConsul({ mode: 'container' }).then(
         () => console.log('started'),
         (error) => console.log(error.code, error.path, error.message));`,
    ]);
    expect(answer).toMatch(
      /^EXPRESS_CONSUL_INVALID_OPTION mode .*optional peer dependency testcontainers installed \(npm install --save-dev testcontainers\)/,
    );
  });
});
