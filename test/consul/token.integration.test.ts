// The ACL token: options beat the environment, and no way of printing an object of this library
// (util.inspect with or without hidden fields, JSON.stringify, console.log) nor any error or log
// line produced when Consul refuses the token shows it.
import { Console } from 'node:console';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import express from 'express';
import { ConfigError, ConsulAclError, createDiscovery, expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { resolveOptions } from '../../src/config/resolve-options';
import { resolveConsulConnection } from '../../src/consul/consul-environment';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { recordingLogger } from '../support/consul-reads';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const CANARY = 'canary-5e1f0c9a-7b2d-4c3e-9f8a-112233445566';

/** Every way a user might print `value`, joined. */
function printed(value: unknown): string {
  let logged = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  new Console({ stdout: sink, stderr: sink }).log(value);
  let json: string;
  try {
    json = JSON.stringify(value) ?? '';
  } catch (error) {
    // A circular structure: the error names the path, which must not hold the token either.
    json = (error as Error).message;
  }
  return [
    inspect(value),
    inspect(value, { depth: Infinity }),
    inspect(value, { showHidden: true, depth: Infinity }),
    inspect(value, { showHidden: true, depth: 4, getters: true }),
    json,
    String(value),
    logged,
  ].join('\n');
}

describe('the ACL token', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'express-consul-token-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function tokenFile(content: string): string {
    const file = join(dir, `token-${Math.random().toString(36).slice(2)}`);
    writeFileSync(file, content);
    return file;
  }

  describe('precedence', () => {
    const resolveToken = (options: object, env: NodeJS.ProcessEnv): string | undefined =>
      resolveConsulConnection(options, env).token?.reveal();

    it('an explicit tokenFile beats CONSUL_HTTP_TOKEN and CONSUL_HTTP_TOKEN_FILE', () => {
      const file = tokenFile('from-option-file\n');
      expect(
        resolveToken(
          { tokenFile: file },
          { CONSUL_HTTP_TOKEN: 'from-env', CONSUL_HTTP_TOKEN_FILE: tokenFile('from-env-file') },
        ),
      ).toBe('from-option-file');
    });

    it('an explicit token beats both variables', () => {
      expect(
        resolveToken(
          { token: 'from-option' },
          { CONSUL_HTTP_TOKEN: 'from-env', CONSUL_HTTP_TOKEN_FILE: tokenFile('from-env-file') },
        ),
      ).toBe('from-option');
    });

    it('CONSUL_HTTP_TOKEN beats CONSUL_HTTP_TOKEN_FILE, as in Consul', () => {
      expect(
        resolveToken({}, { CONSUL_HTTP_TOKEN: 'from-env', CONSUL_HTTP_TOKEN_FILE: tokenFile('f') }),
      ).toBe('from-env');
      expect(resolveToken({}, { CONSUL_HTTP_TOKEN_FILE: tokenFile('from-env-file') })).toBe(
        'from-env-file',
      );
    });

    it('refuses token and tokenFile together, naming the field and not the token', () => {
      let thrown: unknown;
      try {
        resolveConsulConnection({ token: CANARY, tokenFile: tokenFile('x') }, {});
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).path).toBe('consul.tokenFile');
      expect(printed(thrown)).not.toContain(CANARY);
    });

    it('an empty token file means no token', () => {
      expect(resolveToken({ tokenFile: tokenFile('  \n') }, { CONSUL_HTTP_TOKEN: 'env' })).toBe(
        undefined,
      );
    });
  });

  describe('is never printed', () => {
    it('by the resolved connection or the resolved options', () => {
      expect(printed(resolveConsulConnection({ token: CANARY }, {}))).not.toContain(CANARY);
      expect(printed(resolveConsulConnection({}, { CONSUL_HTTP_TOKEN: CANARY }))).not.toContain(
        CANARY,
      );
      const resolved = resolveOptions({ service: { name: 'a' }, consul: { token: CANARY } }, {});
      expect(printed(resolved)).not.toContain(CANARY);
      expect(printed(resolved.consul.token)).toContain('redacted');
      expect(String(resolved.consul.token)).not.toContain(CANARY);
    });

    it('by a ConsulClient, even while a blocking query carrying it is in flight', async () => {
      const client = new ConsulClient({ address: process.env.CONSUL_HTTP_ADDR!, token: CANARY });
      try {
        const { meta } = await client.healthService('consul');
        const controller = new AbortController();
        const blocking = client
          .healthService(
            'consul',
            { index: meta.index ?? 1, waitMs: 10_000 },
            { signal: controller.signal },
          )
          .catch(() => undefined);
        expect(printed(client)).not.toContain(CANARY);
        expect(printed(client)).toContain(process.env.CONSUL_HTTP_ADDR!);
        controller.abort();
        await blocking;
      } finally {
        await client.close();
      }
    });

    it('by a Discovery with a watch in flight', async () => {
      const discovery = createDiscovery({
        consul: { address: process.env.CONSUL_HTTP_ADDR!, token: CANARY },
        metrics: false,
      });
      try {
        const client = discovery.service(uniqueService('token-print'));
        await client.ready();
        expect(printed(discovery)).not.toContain(CANARY);
        expect(printed(client)).not.toContain(CANARY);
      } finally {
        await discovery.close();
      }
    });

    it('by an ExpressConsul', async () => {
      const adapter = expressConsul(express(), {
        service: { name: uniqueService('token-print') },
        consul: { address: process.env.CONSUL_HTTP_ADDR!, token: CANARY },
        metrics: false,
        shutdown: { handleSignals: false },
      });
      try {
        expect(printed(adapter)).not.toContain(CANARY);
      } finally {
        await adapter.close();
      }
    });
  });

  describe('when Consul refuses it', () => {
    let agent: StartedConsul;
    const MANAGEMENT = 'b0a710ad-1111-4222-8333-444455556666';

    beforeAll(async () => {
      agent = await startConsul({ mode: 'binary', acl: { managementToken: MANAGEMENT } });
    });
    afterAll(async () => {
      await agent.stop();
    });

    it('leaves it out of the errors and the log lines of a registration and a watch', async () => {
      const { lines, logger } = recordingLogger();
      const adapter = expressConsul(express(), {
        service: { name: uniqueService('token-refused') },
        consul: { address: agent.address, token: CANARY },
        logger,
        metrics: false,
        shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
      });
      const failure = await adapter.listen(0, '127.0.0.1').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ConsulAclError);
      expect(printed(failure)).not.toContain(CANARY);

      const discovery = createDiscovery({
        consul: { address: agent.address, token: CANARY },
        logger,
        metrics: false,
      });
      try {
        const client = discovery.service('anything');
        const watchError = await waitFor('a failed watch', () => client.watcher.status().lastError);
        expect(watchError).toBeInstanceOf(ConsulAclError);
        expect(printed(watchError)).not.toContain(CANARY);
        const refused = await client.request({ path: '/' }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(printed(refused)).not.toContain(CANARY);
      } finally {
        await discovery.close();
        await adapter.close();
      }
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain(CANARY);
    });
  });
});
