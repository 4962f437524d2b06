import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

describe('the packed npm tarball', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'express-consul-pack-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports cleanly from CommonJS and ESM consumers, with type declarations', () => {
    execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], {
      cwd: root,
      stdio: 'pipe',
    });
    const tarball = readdirSync(dir).find((file) => file.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    /** A throwaway project that installs the tarball next to the given Express major. */
    const installConsumer = (name: string, express: string): string => {
      const folder = join(dir, name);
      execFileSync('mkdir', ['-p', folder]);
      writeFileSync(join(folder, 'package.json'), JSON.stringify({ name, private: true }));
      execFileSync(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--silent',
          join(dir, tarball!),
          express,
        ],
        { cwd: folder, stdio: 'pipe' },
      );
      return folder;
    };
    const consumer = installConsumer('consumer', 'express@5');

    const cjs = execFileSync(
      process.execPath,
      [
        '-e',
        "const m = require('express-consul'); console.log(typeof m.expressConsul, typeof m.ConfigError, new m.ConfigError('x', 'y').code, typeof m.ExpressConsul, typeof m.ServiceWatcher)",
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    // The classes behind the factories are exported as types only: nothing of them at run time.
    expect(cjs.trim()).toBe('function function EXPRESS_CONSUL_INVALID_OPTION undefined undefined');

    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { expressConsul, NoHealthyInstancesError } from 'express-consul'; import * as all from 'express-consul'; console.log(typeof expressConsul, new NoHealthyInstancesError('p').code, typeof all.default)",
      ],
      { cwd: consumer, encoding: 'utf8' },
    );
    expect(esm.trim()).toBe('function EXPRESS_CONSUL_NO_HEALTHY_INSTANCES object');

    // The peer range says express >= 4.18: the packed library registers an Express 4 app for real.
    const express4 = installConsumer('express4-consumer', 'express@4');
    const registered = execFileSync(
      process.execPath,
      [
        '-e',
        `const express = require('express'); const { expressConsul } = require('express-consul');
         const consul = expressConsul(express(), { service: { name: 'express4-check' }, metrics: false,
           shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1000 } });
         consul.listen(0, '127.0.0.1')
           .then(() => console.log(require('express/package.json').version.split('.')[0], consul.registration.state))
           .then(() => consul.close());`,
      ],
      { cwd: express4, encoding: 'utf8', env: process.env },
    );
    expect(registered.trim()).toBe('4 registered');

    const files = execFileSync('tar', ['-tzf', join(dir, tarball!)], { encoding: 'utf8' });
    expect(files).toContain('package/dist/index.d.ts');
    // The README is short and links into docs/: the pages ship with it, so its links resolve.
    expect(files).toContain('package/docs/options.md');
    expect(files).not.toMatch(/package\/(src|test|tools)\//);
  });
});
