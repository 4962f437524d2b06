// A listener's bug is the listener's: every emitter logs a listener that throws and carries on, so
// the call, watch loop or state change that announced the event is never failed by it (#14).
import { OutlierDetector, resolveOutlierDetectorOptions } from '../../src/client/outlier-detector';
import type { Logger } from '../../src/logger';
import { entry, fixedDiscovery, stopAll, upstream } from '../client/fixed-discovery';

afterEach(stopAll);

interface Logged {
  readonly level: string;
  readonly obj: object;
  readonly msg: string | undefined;
}

function recordingLogger(throwOn?: (msg: string | undefined) => boolean): {
  logger: Logger;
  lines: Logged[];
} {
  const lines: Logged[] = [];
  const log =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
      if (throwOn?.(msg)) throw new Error(`logger bug at ${level}`);
    };
  return {
    lines,
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
  };
}

describe('a listener that throws', () => {
  it('does not fail the call whose failure ejected an instance (the ejection listener logs through a logger that throws)', async () => {
    const failing = await upstream((_q, r) => {
      r.statusCode = 503;
      r.end('down');
    });
    const healthy = await upstream();
    const { logger } = recordingLogger((msg) => msg?.includes('ejected') ?? false);
    const discovery = fixedDiscovery(
      { pay: [entry('pay', 'a', failing.port), entry('pay', 'b', healthy.port, 'node-2')] },
      {
        client: {
          balancer: 'round-robin',
          outlierDetection: { consecutiveFailures: 1 },
          retryBackoff: { baseMs: 0 },
        },
      },
      logger,
    );
    {
      const client = discovery.service('pay');
      const statuses: number[] = [];
      const failures: string[] = [];
      for (let i = 0; i < 6; i++) {
        try {
          const response = await client.request({ path: '/' });
          statuses.push(response.statusCode);
          await response.body.text();
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      expect(failures).toEqual([]);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
      expect(failing.received).toBe(1);
    }
  });

  it("is logged and the other listeners still run; the detector's caller never sees the error", () => {
    const { logger, lines } = recordingLogger();
    const detector = new OutlierDetector(
      resolveOutlierDetectorOptions({ consecutiveFailures: 1 }),
      () => 0,
      logger,
    );
    const later = jest.fn();
    detector.onEject(() => {
      throw new Error('listener bug');
    });
    detector.onEject(later);
    detector.retain(['a', 'b', 'c']);
    expect(() => detector.recordFailure('a')).not.toThrow();
    expect(later).toHaveBeenCalledTimes(1);
    expect(detector.isEjected('a')).toBe(true);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        obj: expect.objectContaining({ error: 'listener bug' }),
      }),
    );
  });
});
