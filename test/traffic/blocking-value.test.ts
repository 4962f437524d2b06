// The chain watch's loop over a scripted source: index rules, last good value on a refused
// answer or an outage, one warning per distinct refusal.
import { BlockingValue } from '../../src/traffic/blocking-value';
import type { BlockingAnswer } from '../../src/traffic/blocking-value';
import { waitFor } from '../../harness/wait-for';

interface Step {
  readonly answer?: BlockingAnswer;
  readonly error?: Error;
}

function scripted(steps: Step[]) {
  const indexes: number[] = [];
  const warnings: string[] = [];
  const value = new BlockingValue<number>({
    what: 'test value',
    read: async (index, _waitMs, signal) => {
      indexes.push(index);
      const step = steps.shift();
      if (step === undefined) {
        // Script done: block like Consul until closed.
        await new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        throw new Error('closed');
      }
      if (step.error) throw step.error;
      return step.answer!;
    },
    parse: (data) => {
      if (typeof data !== 'number') throw new Error(`refused ${JSON.stringify(data)}`);
      return data;
    },
    waitMs: 1_000,
    minUpdateIntervalMs: 0,
    backoff: { baseMs: 1, maxMs: 2 },
    logger: {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (_fields: unknown, message?: string) => warnings.push(message ?? ''),
    },
  });
  return { value, indexes, warnings };
}

describe('BlockingValue', () => {
  it('refuses an answer too deeply nested to compare, and goes on (hostile review: it killed the loop)', async () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const changes: number[] = [];
    const { value, warnings } = scripted([
      { answer: { data: 1, index: 10 } },
      { answer: { data: { Chain: deep }, index: 11 } },
      { answer: { data: 4, index: 12 } },
    ]);
    value.onChange((v) => changes.push(v));
    value.start();
    try {
      await waitFor('the answer after the deep one', () =>
        changes.includes(4) ? true : undefined,
      );
      expect(changes).toEqual([1, 4]);
      expect(warnings.some((w) => /refused/.test(w))).toBe(true);
      expect(value.status()).toMatchObject({ ready: true, refused: false });
    } finally {
      await value.close();
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('keeps the last good value through refusals and failures, warning once per refusal', async () => {
    const changes: number[] = [];
    const { value, indexes, warnings } = scripted([
      { answer: { data: 1, index: 10 } },
      { answer: { data: 'bad', index: 11 } },
      { answer: { data: 'bad', index: 12 } },
      { error: new Error('agent down') },
      { answer: { data: 'bad', index: 13 } },
      { answer: { data: 2, index: 9 } }, // backwards: not used, read again from 0
      { answer: { data: 3, index: 14 } },
    ]);
    value.onChange((v) => changes.push(v));
    value.start();
    await value.ready();
    await waitFor('the script read', () => (indexes.length === 8 ? true : undefined), {
      intervalMs: 1,
    });
    expect(changes).toEqual([1, 3]);
    expect(value.value).toBe(3);
    // The failure and the backwards index each make the next read non-blocking (0).
    expect(indexes).toEqual([0, 10, 11, 12, 0, 13, 0, 14]);
    expect(warnings.filter((w) => w.includes('refused'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('failed'))).toHaveLength(1);
    await value.close();
  });

  it('reports a refusal in its status while the last good value stays', async () => {
    const { value, indexes } = scripted([
      { answer: { data: 5, index: 3 } },
      { answer: { data: null, index: 4 } },
    ]);
    value.start();
    await waitFor('two reads', () => (indexes.length === 3 ? true : undefined), { intervalMs: 1 });
    expect(value.value).toBe(5);
    expect(value.status()).toMatchObject({ ready: true, refused: true, index: 4 });
    await value.close();
  });
});

describe('BlockingValue rate limit (hostile review: a chain answering back to back was unbounded)', () => {
  it('applies at most UPDATE_BURST + one answer per minUpdateIntervalMs under a flapping writer, and the last change', async () => {
    // A store with Consul's blocking semantics: a read at the current index waits for the next write.
    let version = 1;
    let wake: (() => void) | undefined;
    const write = (): void => {
      version += 1;
      wake?.();
    };
    const reads: number[] = [];
    const applied: number[] = [];
    const intervalMs = 50;
    const value = new BlockingValue<number>({
      what: 'flapping value',
      read: async (index, _waitMs, signal) => {
        reads.push(performance.now());
        if (index >= version) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            signal.addEventListener('abort', () => resolve(), { once: true });
          });
          wake = undefined;
        }
        if (signal.aborted) throw new Error('closed');
        return { data: version, index: version };
      },
      parse: (data) => data as number,
      waitMs: 1_000,
      minUpdateIntervalMs: intervalMs,
      backoff: { baseMs: 1, maxMs: 2 },
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    value.onChange((v) => applied.push(v));
    value.start();
    await value.ready();
    // The writer flaps every ms for 1 s (at most 1,000 writes), then stops on its last value.
    const flapMs = 1_000;
    const startedAt = performance.now();
    const before = applied.length;
    let writes = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        write();
        writes += 1;
        if (writes >= 1_000 || performance.now() - startedAt >= flapMs) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    const elapsedMs = performance.now() - startedAt;
    const during = applied.length - before;
    try {
      await waitFor('the last write is applied', () =>
        value.value === version ? true : undefined,
      );
      const perSecond = (during * 1_000) / elapsedMs;
      process.stdout.write(
        `flapping writer: ${writes} writes in ${elapsedMs.toFixed(0)} ms, ${during} applied ` +
          `(${perSecond.toFixed(1)}/s), last value applied\n`,
      );
      // Burst of 4, then one per 50 ms: at most 4 + elapsed/50 (+1 for the token being refilled).
      expect(writes).toBeGreaterThan(100);
      expect(during).toBeLessThanOrEqual(4 + Math.ceil(elapsedMs / intervalMs) + 1);
      expect(applied[applied.length - 1]).toBe(version);
    } finally {
      await value.close();
    }
  });
});
