// The soak (issue 8, item 4): minutes of mixed load (GET, and POST with an idempotency key)
// through the library against a fleet of 3 instances on a Consul agent of its own, with one
// instance churned every 30 s (SIGTERM drain, then a replacement). Heap (after a collection),
// open sockets and active handles are sampled each minute and printed. Exits non-zero when a
// call failed or a sample grew past the bounds below. Not part of any test run:
// `npm run soak -- --minutes N` (default 10). Ctrl-C stops the load and everything it started.
import { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { createDiscovery } from '../../src';
import { startConsul } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { errorName } from './support/callers';
import { Fleet } from './support/fleet';
import { ToxiproxyServer } from './support/toxiproxy';

const RATE_PER_SECOND = 50;
const MAX_IN_FLIGHT = 200;
const CHURN_EVERY_MS = 30_000;
const SAMPLE_EVERY_MS = 60_000;
// Growth allowed over the first sample (taken after a warm-up).
const MAX_HEAP_GROWTH_BYTES = 32 * 1024 * 1024;
const MAX_SOCKET_GROWTH = 20;
const MAX_HANDLE_GROWTH = 20;

interface Sample {
  readonly minute: number;
  readonly heapBytes: number;
  readonly sockets: number;
  readonly handles: number;
}

function minutesArgument(): number {
  const at = process.argv.indexOf('--minutes');
  const minutes = at === -1 ? 10 : Number(process.argv[at + 1]);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
    throw new Error(
      `--minutes must be a number of minutes in (0, 1440], got ${process.argv[at + 1]}`,
    );
  }
  return minutes;
}

function sample(minute: number): Sample {
  (globalThis as { gc?: () => void }).gc?.();
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return {
    minute,
    heapBytes: process.memoryUsage().heapUsed,
    sockets: handles.filter((h) => h instanceof Socket).length,
    handles: handles.length,
  };
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

async function main(): Promise<number> {
  const minutes = minutesArgument();
  const durationMs = minutes * 60_000;
  const stopping = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    process.stdout.write('[soak] interrupted: stopping\n');
    stopping.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const cleanups: (() => Promise<void>)[] = [];
  const counts = { sent: 0, ok: 0, failed: 0, errors: new Map<string, number>() };
  const samples: Sample[] = [];
  let churns = 0;
  try {
    const agent = await startConsul({ mode: 'binary' });
    cleanups.push(() => agent.stop());
    process.env.CONSUL_HTTP_ADDR = agent.address;
    const toxiproxy = await ToxiproxyServer.start();
    cleanups.push(() => toxiproxy.stop());
    const service = 'soak';
    const fleet = await Fleet.start(toxiproxy, { service, size: 3 });
    cleanups.push(() => fleet.stop());
    const discovery = createDiscovery({
      consul: { address: agent.address },
      metrics: { registry: new Registry() },
    });
    cleanups.push(() => discovery.close());
    const client = discovery.service(service);
    await waitFor('3 instances in discovery', () =>
      client.instances().length === 3 ? true : undefined,
    );
    process.stdout.write(
      `[soak] ${minutes} min, ${RATE_PER_SECOND} calls/s (GET and keyed POST), one instance churned every ${CHURN_EVERY_MS / 1000} s\n`,
    );

    const inFlight = new Set<Promise<void>>();
    const call = async (n: number): Promise<void> => {
      counts.sent += 1;
      try {
        const post = n % 2 === 1;
        const response = await client.request(
          post ? { method: 'POST', path: '/orders', idempotencyKey: `soak-${n}` } : { path: '/' },
        );
        await response.body.text();
        if (response.statusCode === (post ? 201 : 200)) counts.ok += 1;
        else throw new Error(`status ${response.statusCode}`);
      } catch (error) {
        counts.failed += 1;
        const name =
          error instanceof Error && error.message.startsWith('status')
            ? error.message
            : errorName(error);
        counts.errors.set(name, (counts.errors.get(name) ?? 0) + 1);
      }
    };
    const load = async (): Promise<void> => {
      const startedAt = performance.now();
      const maxCalls = Math.ceil((RATE_PER_SECOND * durationMs) / 1000);
      for (let n = 0; n < maxCalls && !stopping.signal.aborted; n += 1) {
        const due = startedAt + (n * 1000) / RATE_PER_SECOND;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait, stopping.signal);
        if (performance.now() - startedAt > durationMs) break;
        if (inFlight.size >= MAX_IN_FLIGHT) continue;
        const promise = call(n).finally(() => inFlight.delete(promise));
        inFlight.add(promise);
      }
      await Promise.all(inFlight);
    };
    const churn = async (): Promise<void> => {
      const startedAt = performance.now();
      while (!stopping.signal.aborted) {
        await sleep(CHURN_EVERY_MS, stopping.signal);
        if (stopping.signal.aborted || performance.now() - startedAt > durationMs - 5_000) return;
        const instance = fleet.instances[churns % fleet.instances.length]!;
        await fleet.drain(instance);
        await fleet.restart(instance);
        churns += 1;
        process.stdout.write(`[soak] churned ${instance.name} (${churns})\n`);
      }
    };
    const sampler = async (): Promise<void> => {
      await sleep(5_000, stopping.signal);
      samples.push(sample(0));
      for (let minute = 1; minute < minutes && !stopping.signal.aborted; minute += 1) {
        await sleep(SAMPLE_EVERY_MS, stopping.signal);
        if (stopping.signal.aborted) return;
        report(minute);
      }
    };
    const report = (minute: number): void => {
      samples.push(sample(minute));
      const s = samples.at(-1)!;
      process.stdout.write(
        `[soak] minute ${minute}: heap ${(s.heapBytes / 1024 / 1024).toFixed(1)} MB, sockets ${s.sockets}, handles ${s.handles}; calls ${counts.sent} sent, ${counts.ok} ok, ${counts.failed} failed\n`,
      );
    };
    const loadDone = load().finally(() => stopping.abort());
    await Promise.all([loadDone, churn(), sampler()]);
    // The last minute's sample: the load has ended, the fleet and the watch are still up.
    if (!interrupted) report(minutes);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const first = samples[0];
  const problems: string[] = [];
  if (counts.failed > 0) problems.push(`${counts.failed} calls failed`);
  for (const s of samples.slice(1)) {
    if (first === undefined) break;
    if (s.heapBytes > first.heapBytes + MAX_HEAP_GROWTH_BYTES)
      problems.push(
        `heap grew past ${MAX_HEAP_GROWTH_BYTES / 1024 / 1024} MB at minute ${s.minute}`,
      );
    if (s.sockets > first.sockets + MAX_SOCKET_GROWTH)
      problems.push(`sockets grew past +${MAX_SOCKET_GROWTH} at minute ${s.minute}`);
    if (s.handles > first.handles + MAX_HANDLE_GROWTH)
      problems.push(`handles grew past +${MAX_HANDLE_GROWTH} at minute ${s.minute}`);
  }
  process.stdout.write(
    `[soak] done: ${counts.sent} sent, ${counts.ok} ok, ${counts.failed} failed ${JSON.stringify(Object.fromEntries(counts.errors))}; ${churns} churns; samples ${JSON.stringify(samples)}\n`,
  );
  if (problems.length > 0) process.stdout.write(`[soak] FAILED: ${problems.join('; ')}\n`);
  // Interrupted: not a full run, whatever its figures (128 + SIGINT, as a shell reports it).
  return problems.length > 0 ? 1 : interrupted ? 130 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `[soak] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
