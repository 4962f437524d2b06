// Scenario 7, extended: the library's Consul agent unreachable for 30 s (a Toxiproxy `timeout`
// toxic with timeout 0 blackholes the proxy in front of it) under bounded load, then 100 forced
// reconnects of the watch (the proxy disabled, which cuts the open connection, until the watch
// fails; enabled until it answers again). Calls to the known instances never fail, staleness
// rises through the outage, and heap, open sockets and the watcher's abort listeners stay
// bounded across the reconnects.
import { getEventListeners } from 'node:events';
import { Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { libraryCaller } from './support/callers';
import { blackholeConsul } from './support/consul-outage';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import { waitFor } from '../../harness/wait-for';

const OUTAGE_MS = 30_000;
const RECONNECTS = 100;
// Bounds of growth across the reconnects; a leak of one socket, listener or a few KB per
// reconnect would cross them.
const MAX_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;
const MAX_SOCKET_GROWTH = 5;
const MAX_LISTENER_GROWTH = 2;

// A real collection before each sample, whether or not jest runs with --expose-gc.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Sample {
  readonly heapBytes: number;
  readonly sockets: number;
  readonly abortListeners: number;
}

describe('chaos: Consul unreachable 30 s, then 100 forced reconnects', () => {
  let scenario: Scenario | undefined;

  afterAll(async () => {
    await scenario?.stop();
  });

  it('serves known instances, reports staleness, and stays bounded across reconnects', async () => {
    scenario = await startScenario(
      { service: 'chaos-reconnects', size: 3 },
      {
        consul: { requestTimeoutMs: 1_000 },
        watch: { waitMs: 2_000, backoff: { baseMs: 50, maxMs: 500 } },
      },
      undefined,
      true,
    );
    const { toxiproxy, client } = scenario;
    const proxy = scenario.consulProxy!;
    const watcher = client.watcher;
    // The watcher's own shutdown signal: every query in flight hangs an abort listener on it.
    const shutdownSignal = (watcher as unknown as { abort: AbortController }).abort.signal;
    const sample = (): Sample => {
      gc();
      const handles = (
        process as unknown as { _getActiveHandles(): unknown[] }
      )._getActiveHandles();
      return {
        heapBytes: process.memoryUsage().heapUsed,
        sockets: handles.filter((h) => h instanceof Socket).length,
        abortListeners: getEventListeners(shutdownSignal, 'abort').length,
      };
    };
    let errors = 0;
    const offError = watcher.onError(() => {
      errors += 1;
    });
    let stalenessSamples: number[] = [];
    let before: Sample | undefined;
    let after: Sample | undefined;
    let reconnects = 0;

    const counts = await runLoad({
      callers: { library: libraryCaller(client) },
      ratePerSecond: 50,
      maxMs: 240_000,
      action: async () => {
        stalenessSamples = await blackholeConsul(scenario!, OUTAGE_MS, 2_000);

        before = sample();
        for (let i = 0; i < RECONNECTS; i += 1) {
          const errorsBefore = errors;
          // Disabled, the proxy cuts the watch's open connection at once and refuses new ones.
          await toxiproxy.setEnabled(proxy, false);
          await waitFor('the watch to fail', () => (errors > errorsBefore ? true : undefined));
          await toxiproxy.setEnabled(proxy, true);
          await waitFor('the watch to resume', () => (watcher.status().stale ? undefined : true));
          reconnects += 1;
          if (reconnects % 20 === 0) process.stdout.write(`[chaos] ${reconnects} reconnects\n`);
        }
        after = sample();
      },
    });
    offError();
    await scenario.record('7b Consul unreachable 30 s, 100 reconnects', counts.library, null);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    process.stdout.write(
      `[chaos] staleness samples (s): ${stalenessSamples.join(', ')}\n` +
        `[chaos] ${reconnects} reconnects (${errors} watch errors): heap ${mb(before!.heapBytes)} → ${mb(after!.heapBytes)} MB, sockets ${before!.sockets} → ${after!.sockets}, abort listeners ${before!.abortListeners} → ${after!.abortListeners}\n`,
    );

    expect(counts.library.errors).toEqual({});
    expect(counts.library.ok).toBe(counts.library.sent);
    expect(stalenessSamples.length).toBeGreaterThanOrEqual(10);
    expect(stalenessSamples.at(-1)!).toBeGreaterThan(25);
    expect(stalenessSamples.at(-1)!).toBeGreaterThan(stalenessSamples[0]!);
    expect(reconnects).toBe(RECONNECTS);
    expect(errors).toBeGreaterThanOrEqual(RECONNECTS);
    expect(client.instances()).toHaveLength(3);
    expect(after!.heapBytes).toBeLessThanOrEqual(before!.heapBytes + MAX_HEAP_GROWTH_BYTES);
    expect(after!.sockets).toBeLessThanOrEqual(before!.sockets + MAX_SOCKET_GROWTH);
    expect(after!.abortListeners).toBeLessThanOrEqual(before!.abortListeners + MAX_LISTENER_GROWTH);
  }, 360_000);
});
