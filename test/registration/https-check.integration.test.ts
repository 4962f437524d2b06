import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import express from 'express';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import type { CheckOptions } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { request } from 'undici';
import { selfSignedCert } from '../support/self-signed-cert';
import type { SelfSignedCert } from '../support/self-signed-cert';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

describe('the HTTP check follows the server scheme', () => {
  const consul = new ConsulClient();
  const adapters: ExpressConsul[] = [];
  let cert: SelfSignedCert;

  beforeAll(() => {
    cert = selfSignedCert();
  });

  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.close()));
    cert.remove();
    await consul.close();
  });

  async function attachHttps(check: CheckOptions): Promise<ExpressConsul> {
    const app = express();
    const name = uniqueService('https-check');
    const adapter = expressConsul(app, {
      service: { name, check: { intervalMs: 1_000, timeoutMs: 1_000, ...check } },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    });
    adapters.push(adapter);
    await adapter.attach(
      createServer({ key: cert.key, cert: cert.cert }, app).listen(0, '127.0.0.1'),
    );
    return adapter;
  }

  /**
   * The agent's own view of the check once its output mentions `text` (the catalog syncs an
   * output change without a status change only every few minutes).
   */
  async function checkOutput(adapter: ExpressConsul, text: string) {
    const checkId = `service:${adapter.registration.serviceId}:http`;
    return waitFor(
      `the check output to mention '${text}'`,
      async () => {
        const answer = await request(`${process.env.CONSUL_HTTP_ADDR}/v1/agent/checks`);
        const checks = (await answer.body.json()) as Record<
          string,
          { Status: string; Output: string }
        >;
        const check = checks[checkId];
        return check?.Output.includes(text) ? check : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  it('an https server with a self-signed certificate and tls.verify false passes over https', async () => {
    const adapter = await attachHttps({
      tls: { verify: false, serverName: 'localhost' },
    });
    const port = (adapter.httpServer!.address() as { port: number }).port;
    expect(adapter.registration.registration?.Check).toMatchObject({
      HTTP: `https://127.0.0.1:${port}/health`,
      TLSSkipVerify: true,
      TLSServerName: 'localhost',
    });
    const check = await checkOutput(adapter, '"status":"passing"');
    expect(check.Status).toBe('passing');
  });

  it('with tls.verify (the default) Consul refuses the self-signed certificate (the option is what makes it pass)', async () => {
    const adapter = await attachHttps({});
    expect(adapter.registration.registration?.Check?.TLSSkipVerify).toBeUndefined();
    const check = await checkOutput(adapter, 'certificate');
    expect(check.Status).toBe('critical');
  });

  it('a plain http server keeps http, and scheme: "https" overrides the guess', async () => {
    const app = express();
    const adapter = expressConsul(app, {
      service: { name: uniqueService('http-check'), check: { scheme: 'https' } },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    });
    adapters.push(adapter);
    // A TLS-terminating proxy in front of a plain server is when one would say so.
    await adapter.attach(createHttpServer(app).listen(0, '127.0.0.1'));
    expect(adapter.registration.registration?.Check?.HTTP).toMatch(/^https:\/\//);

    const plain = expressConsul(express(), {
      service: { name: uniqueService('http-check') },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 2_000 },
    });
    adapters.push(plain);
    await plain.listen(0, '127.0.0.1');
    expect(plain.registration.registration?.Check?.HTTP).toMatch(/^http:\/\//);
    expect(plain.registration.registration?.Check?.TLSSkipVerify).toBeUndefined();
  });
});
