import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { request } from 'undici';
import { ConsulClient } from '../../src/consul/consul-client';
import { startScript } from '../support/child-service';
import type { ChildService } from '../support/child-service';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const FIXTURE = 'test/support/fixtures/drain-service.ts';
const DRAIN_TIMEOUT_MS = 2_000;
/** What the drain promises: exit within the drain timeout plus one second. */
const EXIT_BOUND_MS = DRAIN_TIMEOUT_MS + 1_000;

/** Waits (well past the promised bound) for the child to exit; resolves with how long it took. */
async function exitAfterSigterm(service: ChildService): Promise<{
  exitMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}> {
  const signalledAt = Date.now();
  service.child.kill('SIGTERM');
  let exitMs: number | undefined;
  void service.exited.then(() => {
    exitMs = Date.now() - signalledAt;
  });
  await waitFor('the service to exit', () => exitMs, {
    timeoutMs: EXIT_BOUND_MS + 7_000,
    intervalMs: 20,
  });
  return { exitMs: exitMs!, ...(await service.exited) };
}

describe('the drain deadline holds in a real process on SIGTERM', () => {
  const consul = new ConsulClient();
  const children: ChildService[] = [];
  let upstream: Server | undefined;
  const openBodies: ServerResponse[] = [];

  afterEach(async () => {
    for (const child of children) {
      if (child.child.exitCode === null && child.child.signalCode === null)
        child.child.kill('SIGKILL');
      await child.exited;
    }
    children.length = 0;
  });

  afterAll(async () => {
    for (const body of openBodies) body.destroy();
    if (upstream) {
      upstream.closeAllConnections();
      upstream.close();
      await once(upstream, 'close');
    }
    await consul.close();
  });

  it('exits within drainTimeoutMs + 1 s although an upstream body is never read to its end', async () => {
    // An upstream that sends its headers and one chunk, then never finishes the body.
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the start of a body that never ends');
      openBodies.push(res);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const upstreamName = uniqueService('endless-body');
    const upstreamId = `${upstreamName}-1`;
    await consul.registerService({
      Name: upstreamName,
      ID: upstreamId,
      Address: '127.0.0.1',
      Port: (upstream.address() as { port: number }).port,
    });
    try {
      const service = startScript(FIXTURE, {
        SERVICE_NAME: uniqueService('drain-caller'),
        UPSTREAM_SERVICE: upstreamName,
        DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
      });
      children.push(service);
      const { port } = await service.next('listening');
      const answer = await request(`http://127.0.0.1:${port as number}/call`);
      expect(answer.statusCode).toBe(200);
      expect(await answer.body.json()).toEqual({ upstreamStatus: 200 });
      expect(openBodies).toHaveLength(1);

      const exit = await exitAfterSigterm(service);
      expect(exit.signal).toBe('SIGTERM');
      expect(exit.exitMs).toBeLessThan(EXIT_BOUND_MS);
      // The drain cut the upstream connection rather than leaving it to the kernel at exit.
      expect(openBodies[0]!.destroyed).toBe(true);
    } finally {
      await consul.deregisterService(upstreamId);
    }
  });

  it('exits with 128 + 15 when the app has its own SIGTERM listener and an open handle', async () => {
    const service = startScript(FIXTURE, {
      SERVICE_NAME: uniqueService('own-listener'),
      OWN_SIGNAL_LISTENER: '1',
      DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
    });
    children.push(service);
    await service.next('listening');
    const exit = await exitAfterSigterm(service);
    // The app's own listener heard the signal we re-raised, and the process still ended.
    await expect(service.next('own-listener')).resolves.toMatchObject({ event: 'own-listener' });
    expect(exit).toMatchObject({ code: 143, signal: null });
    expect(exit.exitMs).toBeLessThan(EXIT_BOUND_MS);
  });
});
