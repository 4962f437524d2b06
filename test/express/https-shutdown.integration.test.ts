import { Agent, request } from 'undici';
import { ConsulClient } from '../../src/consul/consul-client';
import { startScript } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { aggregateStatus, healthEntry } from '../support/consul-reads';
import { selfSignedCert } from '../support/self-signed-cert';
import type { SelfSignedCert } from '../support/self-signed-cert';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

describe('an https.createServer service attached with a self-signed certificate', () => {
  const consul = new ConsulClient();
  let cert: SelfSignedCert;
  let service: ChildService | undefined;

  beforeAll(() => {
    cert = selfSignedCert();
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null && service.child.signalCode === null)
      service.child.kill('SIGKILL');
    await service?.exited;
    cert.remove();
    await consul.close();
  });

  it('passes its Consul check over https, then on SIGTERM answers a 1 s request in flight with 200 and exits', async () => {
    const name = uniqueService('https-service');
    const drainTimeoutMs = 5_000;
    service = startScript('test/support/fixtures/drain-service.ts', {
      SERVICE_NAME: name,
      TLS_KEY_FILE: cert.keyFile,
      TLS_CERT_FILE: cert.certFile,
      CHECK_INTERVAL_MS: '1000',
      PROPAGATION_DELAY_MS: '300',
      DRAIN_TIMEOUT_MS: String(drainTimeoutMs),
    });
    const listening = await service.next('listening');
    const id = listening.id as string;
    const port = listening.port as number;

    const entry = await waitFor(
      'the https check to pass',
      async () => {
        const found = await healthEntry(consul, name, id);
        return found && aggregateStatus(found) === 'passing' ? found : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(entry.Checks.find((check) => check.CheckID === `service:${id}:http`)?.Status).toBe(
      'passing',
    );

    // A keep-alive TLS connection that has served a request already, then carries the slow one.
    const dispatcher = new Agent({
      keepAliveTimeout: 60_000,
      connect: { rejectUnauthorized: false },
    });
    const warm = await request(`https://127.0.0.1:${port}/health`, { dispatcher });
    expect(warm.statusCode).toBe(200);
    await warm.body.dump();
    const slow = request(`https://127.0.0.1:${port}/slow?ms=1000`, { dispatcher });
    await service.next('slow-request');
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');

    const answer = await slow;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toEqual({ slept: 1000 });
    const exit = await service.exited;
    expect(exit.signal).toBe('SIGTERM');
    // It waited for the request, not for the whole drain timeout.
    expect(Date.now() - signalledAt).toBeLessThan(drainTimeoutMs);
    expect(await healthEntry(consul, name, id)).toBeUndefined();
    await dispatcher.close();
  });
});
