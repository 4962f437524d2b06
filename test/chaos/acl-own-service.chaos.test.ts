// Scenario 11, extended: an agent with ACLs on and `default_policy = "deny"`, and a token whose
// policy grants `service:write` on one service name only. Registering that service works;
// registering another name with the same token fails with ConsulAclError naming `service:write`.
// The token's secret never appears in the captured logs, the errors, the metrics text or any URL
// the library sent (a recording proxy in front of the agent sees every request).
import express from 'express';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { ConsulAclError, expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { expectRegistersAndCloses, recordingLogger } from '../support/consul-reads';
import { startRecordingProxy } from '../../harness/recording-proxy';
import { errorText } from './support/error-text';

const MANAGEMENT_TOKEN = 'c0ffee00-2222-4333-8444-555566667777';
const OWN = 'acl-own';
const OTHER = 'acl-other';

/** Calls the agent's ACL API with the management token; returns the parsed answer. */
async function aclCall<T>(agent: StartedConsul, path: string, body: unknown): Promise<T> {
  const response = await request(`${agent.address}${path}`, {
    method: 'PUT',
    body: JSON.stringify(body),
    headers: { 'x-consul-token': MANAGEMENT_TOKEN, 'content-type': 'application/json' },
  });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`PUT ${path}: ${response.statusCode} ${text}`);
  return JSON.parse(text) as T;
}

describe('chaos: ACL token with service:write on its own name only', () => {
  let agent: StartedConsul | undefined;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>> | undefined;

  afterAll(async () => {
    await proxy?.close();
    await agent?.stop();
  });

  it('registers its own service, is denied another, and never shows the token', async () => {
    agent = await startConsul({ mode: 'binary', acl: { managementToken: MANAGEMENT_TOKEN } });
    proxy = await startRecordingProxy(agent.address);
    await aclCall(agent, '/v1/acl/policy', {
      Name: 'own-service',
      Rules: `service "${OWN}" { policy = "write" }\nnode_prefix "" { policy = "read" }`,
    });
    const { SecretID: token } = await aclCall<{ SecretID: string }>(agent, '/v1/acl/token', {
      Policies: [{ Name: 'own-service' }],
    });
    const { lines, logger } = recordingLogger();
    const registry = new Registry();
    const options = (name: string) => ({
      service: { name, check: { intervalMs: 1_000 } },
      consul: { address: proxy!.address, token },
      logger,
      metrics: { registry },
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });

    await expectRegistersAndCloses(
      expressConsul(express(), options(OWN)),
      new ConsulClient({ address: agent.address, token: MANAGEMENT_TOKEN }),
    );

    const other = expressConsul(express(), options(OTHER));
    let failure: unknown;
    try {
      failure = await other.listen(0, '127.0.0.1').then(
        () => undefined,
        (error: unknown) => error,
      );
    } finally {
      await other.close();
    }
    const metricsText = await registry.metrics();
    const urls = proxy.requests.map((r) => r.url);
    process.stdout.write(
      `[chaos] ACL: ${proxy.requests.length} requests, ${lines.length} log lines; denied: ${(failure as Error | undefined)?.message}\n`,
    );

    expect(failure).toBeInstanceOf(ConsulAclError);
    expect((failure as ConsulAclError).status).toBe(403);
    expect((failure as ConsulAclError).permission).toBe('service:write');
    // The token was in use: the proxy saw it in the header of the library's requests.
    expect(
      proxy.requests.filter((r) => r.headers['x-consul-token'] === token).length,
    ).toBeGreaterThan(1);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes(token))).toEqual([]);
    expect(errorText(failure).includes(token)).toBe(false);
    expect(metricsText.includes(token)).toBe(false);
    expect(urls.filter((url) => url.includes(token))).toEqual([]);
  }, 120_000);
});
