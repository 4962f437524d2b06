// ConfigEntryIndex.followingRead over a scripted source of the three lists: a chain reads at once,
// then only when a list answers with another index (or after waitMs), a wake landing while its read
// is in flight is not lost, and an abort leaves nothing waiting.
import { AbortedError } from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { ConfigEntryIndex } from '../../src/traffic/config-entry-index';
import type { TrafficSource } from '../../src/traffic/config-entry-index';
import { waitFor } from '../../harness/wait-for';

/** The three lists' reads, each answered when the test says so. */
function scriptedLists() {
  const pending: { kind: string; index: number; answer: (index: number) => void }[] = [];
  const source = {
    configEntries: (kind: string, query: { index?: number }, options: { signal?: AbortSignal }) =>
      new Promise((resolve, reject) => {
        const entry = {
          kind,
          index: query.index ?? 0,
          answer: (index: number) => resolve({ data: [], meta: { index } }),
        };
        pending.push(entry);
        options.signal?.addEventListener('abort', () => reject(new Error('aborted')), {
          once: true,
        });
      }),
    discoveryChain: () => Promise.reject(new Error('not used')),
  } as unknown as TrafficSource;
  /** Answers the oldest waiting read of `kind` with `index`. */
  const answer = async (kind: string, index: number): Promise<void> => {
    await waitFor(`a read of ${kind}`, () => pending.some((p) => p.kind === kind) || undefined);
    const at = pending.findIndex((p) => p.kind === kind);
    pending.splice(at, 1)[0]!.answer(index);
  };
  return { source, answer };
}

function indexOver(source: TrafficSource): ConfigEntryIndex {
  return new ConfigEntryIndex(source, {
    waitMs: 60_000,
    minUpdateIntervalMs: 0,
    backoff: { baseMs: 1, maxMs: 2 },
    logger: silentLogger,
  });
}

describe('ConfigEntryIndex.followingRead', () => {
  it('reads at once, then only when a list answers with another index', async () => {
    const { source, answer } = scriptedLists();
    const entries = indexOver(source);
    entries.start();
    for (const kind of ['service-resolver', 'service-splitter', 'service-router']) {
      await answer(kind, 10);
    }
    let reads = 0;
    const read = entries.followingRead(() => {
      reads += 1;
      return Promise.resolve({ data: reads, index: 10 });
    });
    const abort = new AbortController();
    await read(0, 60_000, abort.signal);
    expect(reads).toBe(1);
    const second = read(10, 60_000, abort.signal);
    // The splitter list answers its wait with the same index: nothing changed, no read.
    await answer('service-splitter', 10);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(1);
    // A router write: the router list answers with a new index, and the chain reads.
    await answer('service-router', 11);
    await second;
    expect(reads).toBe(2);
    abort.abort();
    await entries.close();
  });

  it('a list answering while the read is in flight makes the next read go at once (no lost wake)', async () => {
    const { source, answer } = scriptedLists();
    const entries = indexOver(source);
    entries.start();
    await answer('service-resolver', 5);
    let release!: () => void;
    let reads = 0;
    const read = entries.followingRead(async () => {
      reads += 1;
      if (reads === 1) await new Promise<void>((resolve) => (release = resolve));
      return { data: reads, index: 5 };
    });
    const abort = new AbortController();
    const first = read(0, 60_000, abort.signal);
    await waitFor('the first read in flight', () => reads === 1 || undefined);
    // A write lands while the chain's read is on its way: its answer may predate it.
    await answer('service-resolver', 6);
    release();
    await first;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      read(5, 60_000, abort.signal).then(() => 'read'),
      new Promise(
        (resolve) => (timer = setTimeout(() => resolve('still waiting after 2 s'), 2_000)),
      ),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('read');
    expect(reads).toBe(2);
    abort.abort();
    await entries.close();
  });

  it('reads after waitMs when no list moves, as a blocking query would', async () => {
    const { source } = scriptedLists();
    const entries = indexOver(source);
    entries.start();
    let reads = 0;
    const read = entries.followingRead(() => Promise.resolve({ data: ++reads, index: 1 }));
    const abort = new AbortController();
    await read(0, 20, abort.signal);
    await read(1, 20, abort.signal);
    expect(reads).toBe(2);
    abort.abort();
    await entries.close();
  });

  it('an abort while waiting rejects with AbortedError and leaves no waiter behind', async () => {
    const { source, answer } = scriptedLists();
    const entries = indexOver(source);
    entries.start();
    await answer('service-resolver', 3);
    let reads = 0;
    const read = entries.followingRead(() => Promise.resolve({ data: ++reads, index: 3 }));
    const abort = new AbortController();
    await read(0, 60_000, abort.signal);
    const waiting = read(3, 60_000, abort.signal);
    abort.abort(new Error('closing'));
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    expect((entries as unknown as { indexWaiters: Set<unknown> }).indexWaiters.size).toBe(0);
    // A later move reads nothing for the aborted loop.
    await answer('service-resolver', 4);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toBe(1);
    await entries.close();
  });
});
