import express from 'express';
import { Agent, request } from 'undici';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import { recordingLogger } from '../support/consul-reads';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const TOKEN = 'hook-test-token-0f3c9a';

describe('onShutdown hooks run inside the drain', () => {
  const adapters: ExpressConsul[] = [];
  afterAll(async () => {
    await Promise.all(adapters.map((adapter) => adapter.close()));
  });

  function start(drainTimeoutMs = 3_000): { adapter: ExpressConsul; lines: string[] } {
    const { lines, logger } = recordingLogger();
    const app = express();
    app.get('/slow', (_req, res) => void setTimeout(() => res.send('slow'), 300));
    const adapter = expressConsul(app, {
      service: { name: uniqueService('hooks'), check: { intervalMs: 1_000 } },
      consul: { token: TOKEN },
      metrics: false,
      logger,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs },
    });
    adapters.push(adapter);
    return { adapter, lines };
  }

  it('in the order added, after in-flight requests and before the Consul client closes; a removed hook never runs', async () => {
    const { adapter } = start();
    const server = await adapter.listen(0, '127.0.0.1');
    const port = (server.address() as { port: number }).port;
    const id = adapter.registration.serviceId;
    const seen: string[] = [];
    adapter.onShutdown(async (signal) => {
      seen.push(`first aborted=${signal.aborted} inFlight=${adapter.inFlightRequests}`);
      // The Consul client still answers: the hook may use it, and we are already deregistered.
      seen.push(`agent has us: ${(await adapter.consul.getAgentService(id)) !== undefined}`);
    });
    const removed = adapter.onShutdown(() => {
      seen.push('removed');
    });
    adapter.onShutdown(function closeDatabase() {
      seen.push(`second listening=${server.listening}`);
    });
    removed();

    const dispatcher = new Agent();
    const slow = request(`http://127.0.0.1:${port}/slow`, { dispatcher });
    await waitFor('the slow request to arrive', () => adapter.inFlightRequests === 1 || undefined, {
      intervalMs: 5,
    });
    await adapter.close();
    expect((await slow).statusCode).toBe(200);
    expect(seen).toEqual([
      'first aborted=false inFlight=0',
      'agent has us: false',
      'second listening=false',
    ]);
    await dispatcher.close();
  });

  it('a hook that throws is logged without token or stack, and the next hook still runs', async () => {
    const { adapter, lines } = start();
    await adapter.listen(0, '127.0.0.1');
    const seen: string[] = [];
    adapter.onShutdown(function failsAtOnce() {
      throw new Error('database refused to close');
    });
    adapter.onShutdown(async function failsLater() {
      await Promise.resolve();
      throw Object.assign(new Error('flush failed'), { code: 'EFLUSH' });
    });
    adapter.onShutdown(() => {
      seen.push('third ran');
    });
    await adapter.close();
    expect(seen).toEqual(['third ran']);
    const failures = lines.filter((line) => line.startsWith('shutdown hook failed'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toContain('"hook":"failsAtOnce"');
    expect(failures[0]).toContain('database refused to close');
    expect(failures[1]).toContain('"code":"EFLUSH"');
    for (const line of lines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toMatch(/\n\s+at /);
    }
    expect(adapter.state).toBe('closed');
  });

  it('a hook that never ends sees its signal abort at the deadline; the drain ends and later hooks are skipped', async () => {
    const drainTimeoutMs = 1_500;
    const { adapter, lines } = start(drainTimeoutMs);
    await adapter.listen(0, '127.0.0.1');
    let abortedAfterMs: number | undefined;
    let skippedRan = false;
    const startedAt = Date.now();
    adapter.onShutdown(function hangs(signal) {
      signal.addEventListener('abort', () => {
        abortedAfterMs = Date.now() - startedAt;
      });
      return new Promise<void>(() => undefined);
    });
    adapter.onShutdown(() => {
      skippedRan = true;
    });
    await adapter.close();
    const closedAfterMs = Date.now() - startedAt;
    expect(abortedAfterMs).toBeGreaterThanOrEqual(drainTimeoutMs - 50);
    expect(closedAfterMs).toBeLessThan(drainTimeoutMs + 1_000);
    expect(skippedRan).toBe(false);
    expect(
      lines.some(
        (line) =>
          line.startsWith('shutdown hook still running at the drain deadline') &&
          line.includes('"hook":"hangs"'),
      ),
    ).toBe(true);
    expect(lines.some((line) => line.startsWith('shutdown hook skipped'))).toBe(true);
  });
});
