import { runDrain } from '../../src/express/drain';
import type { DrainPhase } from '../../src/express/drain';
import { recordingLogger } from '../support/consul-reads';

describe('runDrain: phases under one deadline', () => {
  it('runs the phases in order, logs a failing one and goes on, and skips atDeadline when in time', async () => {
    const { lines, logger } = recordingLogger();
    const order: string[] = [];
    const phase = (name: string, run: () => Promise<void> | void): DrainPhase => ({
      name,
      run: () => {
        order.push(name);
        return run();
      },
    });
    let cut = false;
    const report = await runDrain(
      {
        timeoutMs: 5_000,
        phases: [
          phase('one', () => undefined),
          phase('two', () => Promise.reject(new Error('agent gone'))),
          phase('three', () => {
            throw new Error('sync failure');
          }),
          phase('four', () => Promise.resolve()),
        ],
        atDeadline: () => {
          cut = true;
          return Promise.resolve();
        },
      },
      logger,
    );
    expect(order).toEqual(['one', 'two', 'three', 'four']);
    expect(report.deadlineReached).toBe(false);
    expect(report.phases.map((p) => [p.name, p.outcome])).toEqual([
      ['one', 'done'],
      ['two', 'failed'],
      ['three', 'failed'],
      ['four', 'done'],
    ]);
    expect(cut).toBe(false);
    expect(lines.filter((line) => line.startsWith('drain phase failed'))).toHaveLength(2);
  });

  it('gives each phase what is left of one deadline, skips the rest once it passes, then cuts', async () => {
    const { logger } = recordingLogger();
    const signals: AbortSignal[] = [];
    let cutWithAborted: boolean | undefined;
    const startedAt = Date.now();
    const report = await runDrain(
      {
        timeoutMs: 300,
        phases: [
          { name: 'quick', run: (signal) => void signals.push(signal) },
          {
            name: 'hangs',
            run: (signal) => {
              signals.push(signal);
              return new Promise<void>(() => undefined);
            },
          },
          { name: 'never', run: () => Promise.resolve() },
        ],
        atDeadline: (signal) => {
          cutWithAborted = signal.aborted;
          return Promise.resolve();
        },
      },
      logger,
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(report.deadlineReached).toBe(true);
    expect(report.phases.map((p) => [p.name, p.outcome])).toEqual([
      ['quick', 'done'],
      ['hangs', 'deadline'],
      ['never', 'skipped'],
    ]);
    // One signal for the whole drain, aborted at its deadline.
    expect(signals[0]).toBe(signals[1]);
    expect(signals[0]!.aborted).toBe(true);
    expect(cutWithAborted).toBe(true);
  });
});
