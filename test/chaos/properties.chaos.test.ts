// Scenario 12: property tests (fast-check) over the library's edges, where outside input enters:
// options, Retry-After values, Consul's health answers and fetch URLs. Every invalid input must
// give the library's typed error and nothing else may be thrown.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import express from 'express';
import fc from 'fast-check';
import { createDiscovery, expressConsul, isConfigError, isExpressConsulError } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { toServiceRequest } from '../../src/client/discovery-fetch';
import { parseRetryAfterMs } from '../../src/client/retry-policy';
import { toServiceInstances } from '../../src/watch/to-service-instance';

// Shapes of the option trees: a key maps to a leaf, or to the shape of a nested object.
type Shape = { readonly [key: string]: Shape | 'leaf' };

const TIMING = { baseMs: 'leaf', maxMs: 'leaf' } as const;
const CLIENT: Shape = {
  balancer: 'leaf',
  balancerOptions: { slowStartMs: 'leaf', virtualNodes: 'leaf', peakEwma: { decayMs: 'leaf' } },
  timeoutMs: 'leaf',
  deadlineMs: 'leaf',
  maxAttempts: 'leaf',
  connectTimeoutMs: 'leaf',
  readyTimeoutMs: 'leaf',
  outlierDetection: {
    consecutiveFailures: 'leaf',
    baseEjectionMs: 'leaf',
    maxEjectionMs: 'leaf',
    maxEjectionPercent: 'leaf',
    panicThresholdPercent: 'leaf',
  },
  connectionsPerInstance: 'leaf',
  keepAliveTimeoutMs: 'leaf',
  bodyTimeoutMs: 'leaf',
  maxRetryAfterMs: 'leaf',
  retryBackoff: TIMING,
  retryBudget: { ratio: 'leaf', windowMs: 'leaf', minRetriesPerSecond: 'leaf' },
  retryBudgetGroup: 'leaf',
  scheme: 'leaf',
  tls: { ca: 'leaf', cert: 'leaf', key: 'leaf', serverName: 'leaf', verify: 'leaf' },
  passingOnly: 'leaf',
  tag: 'leaf',
  datacenter: 'leaf',
  filter: 'leaf',
  stale: 'leaf',
  cached: 'leaf',
};
const DISCOVERY: Shape = {
  watch: { waitMs: 'leaf', backoff: TIMING, minUpdateIntervalMs: 'leaf' },
  client: CLIENT,
  services: { payments: CLIENT, Payments: CLIENT },
  retryBudget: { ratio: 'leaf', windowMs: 'leaf', minRetriesPerSecond: 'leaf' },
};
// Never a tokenFile or a file path: constructing must not read arbitrary files.
const CONSUL: Shape = {
  address: 'leaf',
  token: 'leaf',
  datacenter: 'leaf',
  requestTimeoutMs: 'leaf',
  http2: 'leaf',
  tls: { ca: 'leaf', serverName: 'leaf', verify: 'leaf' },
};
const STANDALONE: Shape = { ...DISCOVERY, consul: CONSUL, metrics: { prefix: 'leaf' } };
const EXPRESS: Shape = {
  service: {
    name: 'leaf',
    id: 'leaf',
    address: 'leaf',
    port: 'leaf',
    tags: 'leaf',
    meta: 'leaf',
    weights: { passing: 'leaf', warning: 'leaf' },
    check: {
      intervalMs: 'leaf',
      timeoutMs: 'leaf',
      deregisterCriticalAfterMs: 'leaf',
      successBeforePassing: 'leaf',
      failuresBeforeCritical: 'leaf',
      scheme: 'leaf',
      tls: { serverName: 'leaf', verify: 'leaf' },
    },
  },
  consul: CONSUL,
  health: { path: 'leaf', indicatorTimeoutMs: 'leaf' },
  shutdown: {
    handleSignals: 'leaf',
    signals: 'leaf',
    mode: 'leaf',
    propagationDelayMs: 'leaf',
    drainTimeoutMs: 'leaf',
  },
  registration: { watchWaitMs: 'leaf', retryBaseMs: 'leaf', retryMaxMs: 'leaf' },
  discovery: DISCOVERY,
  metrics: { prefix: 'leaf' },
};

/** Values an option may be given: plausible ones, boundary numbers and plain garbage. */
const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 200_000 }),
  fc.constantFrom(0, -1, 1, 0.5, NaN, Infinity, -Infinity, 65_535, 65_536, 2 ** 53),
  fc.double(),
  fc.constantFrom('round-robin', 'least-request', 'peak-ewma', 'http', 'https', 'deregister'),
  fc.constantFrom('127.0.0.1', 'http://127.0.0.1:8500', '', ' ', 'payments', '/health', 'SIGTERM'),
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  fc.anything(),
);

function optionTree(shape: Shape, depth = 0): fc.Arbitrary<unknown> {
  const keys = Object.keys(shape);
  const entry = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...keys) },
    { weight: 1, arbitrary: fc.constantFrom('bogus', '__proto__', 'constructor') },
  );
  const object = fc
    .uniqueArray(entry, { maxLength: Math.min(keys.length, 5) })
    .chain((chosen) =>
      fc.tuple(
        ...chosen.map((key) => {
          const child = Object.hasOwn(shape, key) ? shape[key] : undefined;
          const value =
            child === undefined || child === 'leaf' || depth > 3
              ? leaf
              : fc.oneof(
                  { weight: 3, arbitrary: optionTree(child, depth + 1) },
                  { weight: 1, arbitrary: leaf },
                );
          return value.map((v) => [key, v] as const);
        }),
      ),
    )
    .map((pairs) => {
      const result: Record<string, unknown> = {};
      for (const [key, value] of pairs) {
        Object.defineProperty(result, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return result;
    });
  return depth === 0
    ? object
    : fc.oneof({ weight: 4, arbitrary: object }, { weight: 1, arbitrary: leaf });
}

/** Runs `build`; the only error it may throw is a ConfigError. */
async function onlyConfigErrors(build: () => Promise<void>): Promise<void> {
  try {
    await build();
  } catch (error) {
    if (!isConfigError(error)) {
      throw new Error(`not a ConfigError: ${(error as Error)?.stack ?? String(error)}`);
    }
  }
}

const RUNS = Number(process.env.CHAOS_PROPERTY_RUNS ?? 300);

describe('properties: option validation', () => {
  it('createDiscovery throws nothing but ConfigError, whatever the options', async () => {
    await fc.assert(
      fc.asyncProperty(optionTree(STANDALONE), async (options) => {
        await onlyConfigErrors(async () => {
          const discovery = createDiscovery(options as Parameters<typeof createDiscovery>[0]);
          await discovery.close();
        });
      }),
      // The first counterexamples found (TypeErrors before the fix), always tried first.
      { numRuns: RUNS, examples: [[{ consul: false }], [{ client: null, watch: {} }]] },
    );
  });

  it('expressConsul throws nothing but ConfigError, whatever the options', async () => {
    await fc.assert(
      fc.asyncProperty(optionTree(EXPRESS), async (options) => {
        await onlyConfigErrors(async () => {
          // Never listened: nothing is registered and no request leaves the process.
          const adapter = expressConsul(express(), options as Parameters<typeof expressConsul>[1]);
          await adapter.discovery.close();
          await adapter.consul.close();
        });
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses every time limit that is not a positive finite number, naming the field', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ max: 0 }),
          fc.constantFrom(NaN, Infinity, -Infinity),
          fc.string(),
          fc.boolean(),
          fc.constant(null),
        ),
        (timeoutMs) => {
          let thrown: unknown;
          try {
            createDiscovery({ metrics: false, client: { timeoutMs: timeoutMs as number } });
          } catch (error) {
            thrown = error;
          }
          expect(isConfigError(thrown)).toBe(true);
          expect((thrown as { path: string }).path).toBe('discovery.client.timeoutMs');
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('properties: Retry-After', () => {
  it('gives undefined or a delay between 0 and the cap, for any header value', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined)),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        (value, nowMs, maxMs) => {
          const delay = parseRetryAfterMs(value, nowMs, maxMs);
          if (delay === undefined) return;
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(maxMs);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  it('reads delay-seconds and IMF-fixdate values exactly (to the second)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        (seconds, nowMs, maxMs) => {
          expect(parseRetryAfterMs(String(seconds), nowMs, maxMs)).toBe(
            Math.min(maxMs, seconds * 1000),
          );
          const at = new Date(nowMs + seconds * 1000).toUTCString();
          const delay = parseRetryAfterMs(at, nowMs, maxMs)!;
          // The date keeps whole seconds only.
          expect(Math.abs(delay - Math.min(maxMs, seconds * 1000))).toBeLessThanOrEqual(1000);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('properties: fetch URLs', () => {
  it('turns any input into a service and a path starting with /, or a ConfigError that hides credentials', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.webUrl({ authoritySettings: { withUserInfo: true, withPort: true } }),
          fc.tuple(fc.domain(), fc.webPath()).map(([host, path]) => `http://${host}${path}`),
        ),
        (input) => {
          let result: ReturnType<typeof toServiceRequest> | undefined;
          try {
            result = toServiceRequest(input);
          } catch (error) {
            expect(isConfigError(error)).toBe(true);
            // Credentials a URL parser finds never show, nor does the query string (which may
            // carry secrets). Short ones are skipped: they occur in the message's own words.
            let parsed: URL | undefined;
            try {
              parsed = new URL(input);
            } catch {
              parsed = undefined;
            }
            const message = (error as Error).message;
            for (const secret of [parsed?.username, parsed?.password, parsed?.search.slice(1)]) {
              if (secret !== undefined && secret.length >= 6) {
                expect(message).not.toContain(secret);
                let decoded = secret;
                try {
                  decoded = decodeURIComponent(secret);
                } catch {
                  // not valid percent-encoding: the raw form was checked
                }
                expect(message).not.toContain(decoded);
              }
            }
            return;
          }
          expect(result.service.length).toBeGreaterThan(0);
          expect(result.request.path!.startsWith('/')).toBe(true);
          expect(result.request.method).toBe('GET');
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});

// A health entry: the real shape with any field sometimes missing or of another type.
const maybe = <T>(value: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 6, arbitrary: value }, { weight: 1, arbitrary: fc.jsonValue() });
const healthEntry = fc.record(
  {
    Node: maybe(fc.record({ Node: maybe(fc.string()), Address: maybe(fc.constant('127.0.0.1')) })),
    Service: maybe(
      fc.record(
        {
          ID: maybe(fc.string()),
          Service: maybe(fc.constant('fuzzed')),
          Address: maybe(fc.constantFrom('', '127.0.0.1')),
          Port: maybe(fc.integer({ min: 0, max: 70_000 })),
          Tags: maybe(fc.array(fc.string(), { maxLength: 2 })),
          Meta: maybe(fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 })),
          Weights: maybe(fc.record({ Passing: fc.jsonValue(), Warning: fc.jsonValue() })),
        },
        { requiredKeys: [] },
      ),
    ),
    Checks: maybe(
      fc.array(
        fc.record({
          Status: maybe(fc.constantFrom('passing', 'warning', 'critical', 'maintenance')),
        }),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);

describe('properties: Consul health answers', () => {
  let server: Server | undefined;
  let next = { body: '[]', index: '1' };

  beforeAll(async () => {
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': next.index });
      response.end(next.body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('either parses an answer into instances or throws a typed error, never anything else', async () => {
    const { port } = server!.address() as { port: number };
    const consul = new ConsulClient({ address: `http://127.0.0.1:${port}` });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.array(healthEntry, { maxLength: 4 }).map((entries) => JSON.stringify(entries)),
            fc.jsonValue().map((value) => JSON.stringify(value)),
            fc.string(),
          ),
          fc.oneof(
            fc.constantFrom('0', '1', '-1', '', 'abc', '1e3', '99999999999999999999'),
            fc.nat().map(String),
          ),
          async (body, index) => {
            next = { body, index };
            let answer;
            try {
              answer = await consul.healthService('fuzzed');
            } catch (error) {
              expect(isExpressConsulError(error)).toBe(true);
              expect((error as { code: string }).code).toBe('EXPRESS_CONSUL_BAD_RESPONSE');
              return;
            }
            const instances = toServiceInstances(answer.data);
            for (const instance of instances) {
              expect(typeof instance.id).toBe('string');
              expect(typeof instance.address).toBe('string');
              expect(Number.isInteger(instance.port) || typeof instance.port === 'number').toBe(
                true,
              );
              expect(['passing', 'warning']).toContain(instance.status);
              expect(Number.isInteger(instance.weight) && instance.weight >= 0).toBe(true);
            }
            const parsedIndex = answer.meta.index;
            expect(
              parsedIndex === undefined || (Number.isFinite(parsedIndex) && parsedIndex >= 0),
            ).toBe(true);
          },
        ),
        { numRuns: RUNS },
      );
    } finally {
      await consul.close();
    }
  });
});
