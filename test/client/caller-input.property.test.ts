// A property over caller input: whatever URL, path, method, headers and per-call options a caller
// passes, a call only ever rejects with the library's own typed errors, and input it refuses as a
// ConfigError never reaches the upstream (a loopback server counts what it receives).
import fc from 'fast-check';
import { ConfigError, ExpressConsulError } from '../../src/errors';
import { entry, fixedDiscovery, stopAll, upstream, type Upstream } from './fixed-discovery';
import type { Discovery } from '../../src/client/discovery';

const RUNS = 200;

let up: Upstream;
let d: Discovery;

beforeAll(async () => {
  up = await upstream((request, response) => {
    request.resume();
    response.end('ok');
  });
  d = fixedDiscovery(
    { pay: [entry('pay', 'p1', up.port)] },
    { client: { maxAttempts: 1, outlierDetection: false, timeoutMs: 2_000 } },
  );
});
afterAll(stopAll);

/** Strings a hostile caller would try, mixed with arbitrary ones. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(
    '',
    ' ',
    '\r\n',
    'a\r\nx-injected: 1',
    '\u0000',
    'http://evil.example/steal',
    '//evil.example/x',
    '/ok',
    '/a b',
    'pay☃',
    'GET',
    'host',
    'Host',
    'transfer-encoding',
    'x-ok',
  ),
);

const limit = fc.oneof(
  fc.constantFrom(undefined, 0, -5, 1, 50, 500, NaN, Infinity, -Infinity, 2 ** 40),
  fc.double(),
  fc.integer({ min: -10, max: 3_000 }),
  fc.string(),
);

const headers = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.oneof(nasty, fc.constantFrom('x-a', 'accept')), nasty, { maxKeys: 3 }),
  fc.constantFrom(null, 'x', 42),
);

const urlText = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('http://', 'https://', 'ftp://', 'http://user:pw@', ''),
      fc.constantFrom('pay', 'pay:8080', 'PAY', 'missing', '%zz', 'evil.example'),
      fc.oneof(
        fc.constant('/'),
        nasty.map((s) => `/${s}`),
        nasty,
      ),
    )
    .map(([scheme, host, path]) => `${scheme}${host}${path}`),
  nasty,
);

const method = fc.oneof(
  fc.constantFrom(undefined, 'GET', 'post', 'DELETE', 'PATCH', 'HEAD'),
  nasty,
  fc.constantFrom(42, null),
);

const perCall = fc.record(
  {
    timeoutMs: limit,
    deadlineMs: limit,
    retryable: fc.oneof(fc.boolean(), fc.constantFrom('yes', 1)),
    idempotencyKey: fc.oneof(nasty, fc.constant(7)),
    key: fc.oneof(nasty, fc.constant(7)),
  },
  { requiredKeys: [] },
);

function isTyped(error: unknown): boolean {
  return error instanceof ExpressConsulError;
}

describe('caller input (property)', () => {
  it('fetch(): typed errors only, and nothing sent for input refused as a ConfigError', async () => {
    await fc.assert(
      fc.asyncProperty(urlText, method, headers, perCall, async (url, m, h, options) => {
        const before = up.received;
        const init = { ...options, ...(m !== undefined && { method: m }), headers: h };
        let error: unknown;
        try {
          const response = await d.fetch(url, init as never);
          await response.arrayBuffer();
        } catch (e) {
          error = e;
        }
        if (error === undefined) return;
        expect(isTyped(error)).toBe(true);
        if (error instanceof ConfigError) expect(up.received).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('request(): typed errors only, and nothing sent for input refused as a ConfigError', async () => {
    const pay = d.service('pay');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(nasty, fc.constantFrom(undefined, 42)),
        method,
        headers,
        perCall,
        async (path, m, h, options) => {
          const before = up.received;
          let error: unknown;
          try {
            const response = await pay.request({
              ...options,
              path,
              method: m,
              headers: h,
            } as never);
            await response.body.dump();
          } catch (e) {
            error = e;
          }
          if (error === undefined) return;
          expect(isTyped(error)).toBe(true);
          if (error instanceof ConfigError) expect(up.received).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
