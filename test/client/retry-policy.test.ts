import { createServer, type AddressInfo, type Server } from 'node:net';
import { errors, fetch, request } from 'undici';
import { isFailureStatus, type NetworkFailure } from '../../src/client/request-outcome';
import {
  classifyNetworkError,
  isIdempotentMethod,
  parseRetryAfterMs,
  retryableStatus,
} from '../../src/client/retry-policy';

/** An error shaped the way Node's net and dns modules shape theirs. */
function systemError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, syscall, errno: -1 });
}

const refused = (): Error => systemError('ECONNREFUSED', 'connect');
const reset = (): Error => systemError('ECONNRESET', 'read');
const fetchFailed = (cause: unknown): TypeError => new TypeError('fetch failed', { cause });

describe('isIdempotentMethod', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE', 'get', 'Delete'])(
    '%s: yes',
    (method) => {
      expect(isIdempotentMethod(method)).toBe(true);
    },
  );

  it.each(['POST', 'PATCH', 'CONNECT', 'post', '', 'GETS'])('%p: no', (method) => {
    expect(isIdempotentMethod(method)).toBe(false);
  });
});

describe('retryableStatus', () => {
  it.each([
    [429, true],
    [502, true],
    [503, true],
    [504, true],
    [200, false],
    [204, false],
    [301, false],
    [400, false],
    [404, false],
    [408, false],
    [500, false],
    [501, false],
    [505, false],
  ])('%i: %p', (status, expected) => {
    expect(retryableStatus(status)).toBe(expected);
  });
});

describe('parseRetryAfterMs', () => {
  // Wednesday, 15 January 2025, 12:00:00 UTC.
  const now = Date.UTC(2025, 0, 15, 12, 0, 0);
  // The cap is the caller's (the client's `maxRetryAfterMs`); these cases use 30 s.
  const cap = 30_000;

  it.each<[string, number]>([
    ['0', 0],
    ['5', 5000],
    [' 7 ', 7000],
    ['30', 30_000],
    ['31', 30_000],
    ['86400', 30_000],
    ['99999999999999999999999', 30_000],
  ])('delay-seconds %p gives %i ms', (value, expected) => {
    expect(parseRetryAfterMs(value, now, cap)).toBe(expected);
  });

  it.each<[string, number]>([
    ['Wed, 15 Jan 2025 12:00:10 GMT', 10_000],
    ['Wed, 15 Jan 2025 11:59:00 GMT', 0],
    ['Sun, 06 Nov 1994 08:49:37 GMT', 0],
    ['Thu, 16 Jan 2025 12:00:00 GMT', 30_000],
    ['Wednesday, 15-Jan-25 12:00:20 GMT', 20_000],
    ['Sunday, 06-Nov-94 08:49:37 GMT', 0],
    ['Wed Jan 15 12:00:05 2025', 5000],
    ['Sun Nov  6 08:49:37 1994', 0],
  ])('HTTP-date %p gives %i ms', (value, expected) => {
    expect(parseRetryAfterMs(value, now, cap)).toBe(expected);
  });

  it('reads a two-digit year more than 50 years ahead as the past century', () => {
    expect(parseRetryAfterMs('Friday, 15-Jan-60 12:00:00 GMT', now, Infinity)).toBe(
      Date.UTC(2060, 0, 15, 12) - now,
    );
    expect(parseRetryAfterMs('Friday, 15-Jan-99 12:00:00 GMT', now, Infinity)).toBe(0);
  });

  it('caps at the given maxMs', () => {
    expect(parseRetryAfterMs('120', now, 60_000)).toBe(60_000);
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 12:00:10 GMT', now, 2000)).toBe(2000);
    expect(parseRetryAfterMs('120', now, Infinity)).toBe(120_000);
  });

  it.each(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'])(
    'reads the month %s in all three date formats',
    (month) => {
      const index = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun'].concat([
        'Jul',
        'Aug',
        'Sep',
        'Oct',
        'Nov',
        'Dec',
      ]);
      const at = Date.UTC(2026, index.indexOf(month), 9, 8, 7, 6);
      const early = Date.UTC(2026, 0, 1);
      const weekday = new Date(at).toUTCString().slice(0, 3);
      const longDay = new Date(at).toLocaleDateString('en-US', {
        weekday: 'long',
        timeZone: 'UTC',
      });
      for (const value of [
        `${weekday}, 09 ${month} 2026 08:07:06 GMT`,
        `${longDay}, 09-${month}-26 08:07:06 GMT`,
        `${weekday} ${month}  9 08:07:06 2026`,
      ]) {
        expect(parseRetryAfterMs(value, early, Infinity)).toBe(at - early);
      }
    },
  );

  it.each([
    ['Mon', 'Monday', 5],
    ['Tue', 'Tuesday', 6],
    ['Wed', 'Wednesday', 7],
    ['Thu', 'Thursday', 8],
    ['Fri', 'Friday', 9],
    ['Sat', 'Saturday', 10],
    ['Sun', 'Sunday', 11],
  ])('accepts the day name %s / %s', (short, long, day) => {
    const early = Date.UTC(2026, 0, 1);
    const at = Date.UTC(2026, 0, day, 1, 2, 3);
    const dd = String(day).padStart(2, '0');
    expect(parseRetryAfterMs(`${short}, ${dd} Jan 2026 01:02:03 GMT`, early, Infinity)).toBe(
      at - early,
    );
    expect(parseRetryAfterMs(`${long}, ${dd}-Jan-26 01:02:03 GMT`, early, Infinity)).toBe(
      at - early,
    );
    expect(
      parseRetryAfterMs(
        `${short} Jan ${String(day).padStart(2, ' ')} 01:02:03 2026`,
        early,
        Infinity,
      ),
    ).toBe(at - early);
  });

  it('takes a leap second as the last second of its minute, and nothing beyond it', () => {
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 12:00:60 GMT', now, Infinity)).toBe(59_000);
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 12:00:61 GMT', now, Infinity)).toBeUndefined();
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 12:00:59 GMT', now, Infinity)).toBe(59_000);
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 12:59:00 GMT', now, Infinity)).toBe(3_540_000);
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 12:60:00 GMT', now, Infinity)).toBeUndefined();
    expect(parseRetryAfterMs('Wed, 15 Jan 2025 23:00:00 GMT', now, Infinity)).toBe(39_600_000);
    expect(parseRetryAfterMs('Fri, 31 Jan 2025 12:00:00 GMT', now, Infinity)).toBe(16 * 86_400_000);
    expect(parseRetryAfterMs('Sat, 32 Jan 2025 12:00:00 GMT', now, Infinity)).toBeUndefined();
    expect(parseRetryAfterMs('Wed, 01 Jan 2025 12:00:00 GMT', now, Infinity)).toBe(0);
  });

  it('keeps a two-digit year exactly 50 years ahead in this century', () => {
    // now is in 2025: 75 is 2075 (50 ahead, not more), 76 would be 2076, so 1976.
    expect(parseRetryAfterMs('Tuesday, 15-Jan-75 12:00:00 GMT', now, Infinity)).toBe(
      Date.UTC(2075, 0, 15, 12) - now,
    );
    expect(parseRetryAfterMs('Wednesday, 15-Jan-76 12:00:00 GMT', now, Infinity)).toBe(0);
    expect(parseRetryAfterMs('Thursday, 15-Jan-26 12:00:00 GMT', now, Infinity)).toBe(
      Date.UTC(2026, 0, 15, 12) - now,
    );
  });

  it.each([
    'xWed, 15 Jan 2025 12:00:10 GMT',
    'Wed, 15 Jan 2025 12:00:10 GMTx',
    'Wed, 5 Jan 2025 12:00:10 GMT',
    'Wed, 15 Jan 202 12:00:10 GMT',
    'Wed, 15 Jan 2025 2:00:10 GMT',
    'Wed, 15 Jan 2025 12:0:10 GMT',
    'Wed, 15 Jan 2025 12:00:1 GMT',
    'Wed 15 Jan 2025 12:00:10 GMT',
    'Wednes, 15 Jan 2025 12:00:10 GMT',
    'xWednesday, 15-Jan-25 12:00:20 GMT',
    'Wednesday, 15-Jan-25 12:00:20 GMTx',
    'Wednesday, 5-Jan-25 12:00:20 GMT',
    'Wednesday, 15-Jan-2025 12:00:20 GMT',
    'Wednesday, 15-Jan-25 12:0:20 GMT',
    'Wednesday, 15 Jan 25 12:00:20 GMT',
    'xWed Jan 15 12:00:05 2025',
    'Wed Jan 15 12:00:05 2025x',
    'Wed Jan 15 12:00:05 25',
    'Wed Jan 5 12:00:05 2025',
    'Wed Jan x5 12:00:05 2025',
    'Wed Jan 15 12:00:05 GMT',
    'Wed, Jan 15 12:00:05 2025',
  ])('rejects the malformed date %p', (value) => {
    expect(parseRetryAfterMs(value, now, Infinity)).toBeUndefined();
  });

  it('rejects digits with anything around them as delay-seconds', () => {
    expect(parseRetryAfterMs('x5', now, cap)).toBeUndefined();
    expect(parseRetryAfterMs('5x', now, cap)).toBeUndefined();
    expect(parseRetryAfterMs('12', now, cap)).toBe(12_000);
  });

  it('takes the first of several header values', () => {
    expect(parseRetryAfterMs(['3', '9'], now, cap)).toBe(3000);
    expect(parseRetryAfterMs([], now, cap)).toBeUndefined();
  });

  it.each<[string | null | undefined]>([
    [undefined],
    [null],
    [''],
    ['   '],
    ['soon'],
    ['-5'],
    ['+5'],
    ['1.5'],
    ['1e3'],
    ['0x10'],
    ['5 seconds'],
    ['2025-01-15T12:00:10Z'],
    ['Wed, 15 Jan 2025 12:00:10 UTC'],
    ['wed, 15 Jan 2025 12:00:10 GMT'],
    ['Wed, 15 Jan 25 12:00:10 GMT'],
    ['Mon, 31 Feb 2025 12:00:00 GMT'],
    ['Wed, 15 Jan 2025 24:00:00 GMT'],
    ['Wed, 15 Foo 2025 12:00:00 GMT'],
    ['Wed, 00 Jan 2025 12:00:00 GMT'],
    ['1'.padStart(5, ' ') + ' 2'],
  ])('%p gives undefined', (value) => {
    expect(parseRetryAfterMs(value, now, cap)).toBeUndefined();
  });
});

describe('classifyNetworkError', () => {
  it.each<[string, unknown, NetworkFailure | undefined]>([
    ['ECONNREFUSED on connect', refused(), 'connect_failure'],
    ['ENOTFOUND from getaddrinfo', systemError('ENOTFOUND', 'getaddrinfo'), 'connect_failure'],
    ['EAI_AGAIN from getaddrinfo', systemError('EAI_AGAIN', 'getaddrinfo'), 'connect_failure'],
    ['EHOSTUNREACH on connect', systemError('EHOSTUNREACH', 'connect'), 'connect_failure'],
    ['EHOSTUNREACH on an open socket', systemError('EHOSTUNREACH', 'read'), 'reset'],
    ['ENETUNREACH on connect', systemError('ENETUNREACH', 'connect'), 'connect_failure'],
    ['ETIMEDOUT on connect', systemError('ETIMEDOUT', 'connect'), 'connect_failure'],
    ['ETIMEDOUT on read', systemError('ETIMEDOUT', 'read'), 'reset'],
    ['ECONNRESET on read', reset(), 'reset'],
    ['EPIPE on write', systemError('EPIPE', 'write'), 'reset'],
    ['undici ConnectTimeoutError', new errors.ConnectTimeoutError(), 'connect_failure'],
    ['undici SocketError', new errors.SocketError('other side closed'), 'reset'],
    ['fetch failed (ECONNREFUSED)', fetchFailed(refused()), 'connect_failure'],
    ['fetch failed (ECONNRESET)', fetchFailed(reset()), 'reset'],
    ['fetch failed (SocketError)', fetchFailed(new errors.SocketError('closed')), 'reset'],
    [
      'fetch failed (connect timeout)',
      fetchFailed(new errors.ConnectTimeoutError()),
      'connect_failure',
    ],
    ['AggregateError of refusals', new AggregateError([refused(), refused()]), 'connect_failure'],
    ['AggregateError with a reset', new AggregateError([refused(), reset()]), 'reset'],
    [
      'fetch failed (AggregateError)',
      fetchFailed(new AggregateError([refused()])),
      'connect_failure',
    ],
    [
      "Node's AggregateError with its own code",
      Object.assign(new AggregateError([new Error('x')]), { code: 'ECONNREFUSED' }),
      'connect_failure',
    ],
    ['EHOSTDOWN on connect', systemError('EHOSTDOWN', 'connect'), 'connect_failure'],
    ['ENETDOWN on connect', systemError('ENETDOWN', 'connect'), 'connect_failure'],
    ['EADDRNOTAVAIL on connect', systemError('EADDRNOTAVAIL', 'connect'), 'connect_failure'],
    ['EHOSTUNREACH on a write', systemError('EHOSTUNREACH', 'write'), 'reset'],
    ['ETIMEDOUT without a syscall', Object.assign(new Error('t'), { code: 'ETIMEDOUT' }), 'reset'],
    ['AggregateError with a reset first', new AggregateError([reset(), refused()]), 'reset'],
    [
      'AggregateError of unknowns, refused underneath',
      Object.assign(new AggregateError([new Error('a')]), { cause: refused() }),
      'connect_failure',
    ],
    [
      'a non-array `errors` next to a refused cause',
      Object.assign(new Error('x'), { errors: { 0: reset(), length: 1 }, cause: refused() }),
      'connect_failure',
    ],
    [
      'undici RequestAbortedError wrapping a refusal',
      Object.assign(new errors.RequestAbortedError(), { cause: refused() }),
      undefined,
    ],
    ['undici HeadersTimeoutError', new errors.HeadersTimeoutError(), undefined],
    ['undici BodyTimeoutError', new errors.BodyTimeoutError(), undefined],
    ['undici RequestAbortedError', new errors.RequestAbortedError(), undefined],
    ['undici ClientDestroyedError', new errors.ClientDestroyedError(), undefined],
    ['undici InvalidArgumentError', new errors.InvalidArgumentError('bad'), undefined],
    ['undici HTTPParserError', new errors.HTTPParserError('bad'), undefined],
    ['DOMException AbortError', new DOMException('aborted', 'AbortError'), undefined],
    ['DOMException TimeoutError', new DOMException('timed out', 'TimeoutError'), undefined],
    [
      'abort wrapping a refusal',
      Object.assign(new DOMException('x', 'AbortError'), { cause: refused() }),
      undefined,
    ],
    ['fetch failed (abort)', fetchFailed(new DOMException('aborted', 'AbortError')), undefined],
    ['fetch failed (bad port)', fetchFailed(new Error('bad port')), undefined],
    ['plain Error', new Error('boom'), undefined],
    ['AggregateError of plain errors', new AggregateError([new Error('a')]), undefined],
    ['a string', 'ECONNREFUSED', undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a code that is not a string', { code: 111 }, undefined],
  ])('%s: %p', (_label, error, expected) => {
    expect(classifyNetworkError(error)).toBe(expected);
  });

  it('survives a circular cause chain', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyNetworkError(a)).toBeUndefined();
  });

  it('walks down at most 8 causes', () => {
    const wrap = (error: unknown, levels: number): unknown =>
      levels === 0 ? error : wrap(new Error(`level ${levels}`, { cause: error }), levels - 1);
    expect(classifyNetworkError(wrap(refused(), 8))).toBe('connect_failure');
    expect(classifyNetworkError(wrap(refused(), 9))).toBeUndefined();
  });

  it('finds a cause several levels deep', () => {
    const deep = new Error('outer', { cause: new Error('middle', { cause: refused() }) });
    expect(classifyNetworkError(fetchFailed(deep))).toBe('connect_failure');
  });

  describe('with real undici failures on loopback', () => {
    let closedPort: number;
    const servers: Server[] = [];

    /** A TCP server that answers every request by `onData(socket)`. */
    async function listen(onData: (socket: import('node:net').Socket) => void): Promise<number> {
      const server = createServer((socket) => socket.once('data', () => onData(socket)));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    }

    beforeAll(async () => {
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      closedPort = (probe.address() as AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    });

    afterAll(async () => {
      await Promise.all(
        servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
      );
    });

    async function failure(attempt: () => Promise<unknown>): Promise<unknown> {
      try {
        await attempt();
      } catch (error) {
        return error;
      }
      throw new Error('expected the request to fail');
    }

    it('classifies a refused fetch and a refused request() as connect failures', async () => {
      const url = `http://127.0.0.1:${closedPort}/`;
      const viaFetch = await failure(() => fetch(url));
      expect(viaFetch).toBeInstanceOf(TypeError);
      expect(classifyNetworkError(viaFetch)).toBe('connect_failure');
      expect(classifyNetworkError(await failure(() => request(url)))).toBe('connect_failure');
    });

    it('classifies a server closing the connection mid-request as a reset', async () => {
      const port = await listen((socket) => socket.end());
      const error = await failure(() => request(`http://127.0.0.1:${port}/`));
      expect(error).toBeInstanceOf(errors.SocketError);
      expect(classifyNetworkError(error)).toBe('reset');
    });

    it('classifies a TCP reset seen by fetch as a reset', async () => {
      const port = await listen((socket) => socket.resetAndDestroy());
      const error = await failure(() => fetch(`http://127.0.0.1:${port}/`));
      expect(classifyNetworkError(error)).toBe('reset');
    });

    it('does not classify an aborted fetch', async () => {
      const port = await listen(() => {
        // Never answers: the request can only end by abort.
      });
      const controller = new AbortController();
      const pending = failure(() =>
        fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal }),
      );
      setTimeout(() => controller.abort(), 20);
      expect(classifyNetworkError(await pending)).toBeUndefined();
    });
  });
});

describe('isFailureStatus', () => {
  it.each([
    [200, false],
    [304, false],
    [404, false],
    [499, false],
    [500, true],
    [503, true],
    [599, true],
  ])('%i counts as a failure of the instance: %p', (status, expected) => {
    expect(isFailureStatus(status)).toBe(expected);
  });
});
