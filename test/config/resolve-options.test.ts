import express from 'express';
import { DEFAULTS as PublicDefaults, expressConsul } from '../../src';
import { ConfigError } from '../../src/errors';
import { DEFAULTS, resolveOptions } from '../../src/config/resolve-options';
import type { ExpressConsulOptions } from '../../src/express/express-consul-options';
import { resolveAdapterOptions } from '../../src/express/resolve-adapter-options';
import { recordingLogger } from '../support/consul-reads';

const env = {};

function configErrorOf(options: unknown, environment: NodeJS.ProcessEnv = env): ConfigError {
  try {
    // The adapter's edge: config/ resolves its sections, client/ the discovery section.
    resolveAdapterOptions(options as ExpressConsulOptions, environment);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveOptions({ service: { name: 'payments' } }, env);
    expect(resolved.service.check).toMatchObject({ intervalMs: 10_000, timeoutMs: 5_000 });
    expect(resolved.health.path).toBe('/health');
    expect(resolved.shutdown).toMatchObject({
      handleSignals: true,
      propagationDelayMs: 2_000,
      drainTimeoutMs: 15_000,
    });
    expect(resolved.consul.origin).toBe('http://127.0.0.1:8500');
    expect(resolved.consul.token).toBeUndefined();
  });

  it.each([
    ['a missing service', {}, 'service'],
    ['an empty service name', { service: { name: '' } }, 'service.name'],
    ['an illegal service name', { service: { name: 'pay/ments' } }, 'service.name'],
    ['a port out of range', { service: { name: 'a', port: 70_000 } }, 'service.port'],
    ['a port of zero', { service: { name: 'a', port: 0 } }, 'service.port'],
    [
      'a negative interval',
      { service: { name: 'a', check: { intervalMs: -5 } } },
      'service.check.intervalMs',
    ],
    [
      'a zero interval',
      { service: { name: 'a', check: { intervalMs: 0 } } },
      'service.check.intervalMs',
    ],
    [
      'a check timeout above the interval',
      { service: { name: 'a', check: { intervalMs: 2000, timeoutMs: 3000 } } },
      'service.check.timeoutMs',
    ],
    [
      'an unknown check type',
      { service: { name: 'a', check: { type: 'grpc' } } },
      'service.check.type',
    ],
    [
      'a deregister-after under Consul minimum',
      { service: { name: 'a', check: { deregisterCriticalAfterMs: 5000 } } },
      'service.check.deregisterCriticalAfterMs',
    ],
    [
      'a drain deadline shorter than the propagation delay',
      { service: { name: 'a' }, shutdown: { propagationDelayMs: 5000, drainTimeoutMs: 3000 } },
      'shutdown.drainTimeoutMs',
    ],
    [
      'a negative propagation delay',
      { service: { name: 'a' }, shutdown: { propagationDelayMs: -1 } },
      'shutdown.propagationDelayMs',
    ],
    [
      'an unknown shutdown mode',
      { service: { name: 'a' }, shutdown: { mode: 'vanish' } },
      'shutdown.mode',
    ],
    [
      'a bad meta key',
      { service: { name: 'a', meta: { 'bad key': 'x' } } },
      'service.meta.bad key',
    ],
    ['a non-string meta value', { service: { name: 'a', meta: { v: 2 } } }, 'service.meta.v'],
    [
      'bad weights',
      { service: { name: 'a', weights: { passing: 0, warning: 1 } } },
      'service.weights.passing',
    ],
    ['tags that are not strings', { service: { name: 'a', tags: [1] } }, 'service.tags'],
    [
      'a health path without a slash',
      { service: { name: 'a' }, health: { path: 'health' } },
      'health.path',
    ],
    [
      'an indicator without check',
      { service: { name: 'a' }, health: { indicators: [{ name: 'db' }] } },
      'health.indicators[0]',
    ],
    [
      'a consul address with credentials',
      { service: { name: 'a' }, consul: { address: 'http://u:p@127.0.0.1:8500' } },
      'consul.address',
    ],
    [
      'a consul address with a bad scheme',
      { service: { name: 'a' }, consul: { address: 'ftp://127.0.0.1' } },
      'consul.address',
    ],
    ['a logger without methods', { service: { name: 'a' }, logger: {} }, 'logger'],
  ])('rejects %s with a ConfigError naming the field', (_what, options, path) => {
    const error = configErrorOf(options);
    expect(error.code).toBe('EXPRESS_CONSUL_INVALID_OPTION');
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it('reads Consul environment variables when options are silent', () => {
    const resolved = resolveOptions(
      { service: { name: 'a' } },
      { CONSUL_HTTP_ADDR: '127.0.0.2:8600', CONSUL_HTTP_TOKEN: 'secret-token' },
    );
    expect(resolved.consul.origin).toBe('http://127.0.0.2:8600');
    expect(resolved.consul.token?.reveal()).toBe('secret-token');
  });

  it('lets options win over the environment', () => {
    const resolved = resolveOptions(
      { service: { name: 'a' }, consul: { address: 'http://127.0.0.3:1234', token: 'mine' } },
      { CONSUL_HTTP_ADDR: '127.0.0.2:8600', CONSUL_HTTP_TOKEN: 'env' },
    );
    expect(resolved.consul.origin).toBe('http://127.0.0.3:1234');
    expect(resolved.consul.token?.reveal()).toBe('mine');
  });

  it('uses https when CONSUL_HTTP_SSL is set and honours CONSUL_HTTP_SSL_VERIFY=false', () => {
    const resolved = resolveOptions(
      { service: { name: 'a' } },
      {
        CONSUL_HTTP_ADDR: '127.0.0.1:8501',
        CONSUL_HTTP_SSL: 'true',
        CONSUL_HTTP_SSL_VERIFY: 'false',
        CONSUL_TLS_SERVER_NAME: 'consul.local',
      },
    );
    expect(resolved.consul.origin).toBe('https://127.0.0.1:8501');
    expect(resolved.consul.tls).toMatchObject({
      rejectUnauthorized: false,
      servername: 'consul.local',
    });
  });

  it('names the CA file option when CONSUL_CACERT cannot be read', () => {
    const error = configErrorOf(
      { service: { name: 'a' } },
      {
        CONSUL_HTTP_ADDR: 'https://127.0.0.1:8501',
        CONSUL_CACERT: '/nonexistent/ca.pem',
      },
    );
    expect(error.path).toBe('consul.tls.caFile');
  });
});

describe('expressConsul construction', () => {
  it('throws the ConfigError before touching Consul', () => {
    const app = express();
    expect(() => expressConsul(app, { service: { name: 'a', port: -1 } })).toThrow(ConfigError);
  });

  it('warns once, naming the DNS-safe spelling, for a name Consul DNS cannot serve, and still accepts it', () => {
    const { lines, logger } = recordingLogger();
    const adapter = expressConsul(express(), {
      service: { name: 'my_service' },
      logger,
      shutdown: { handleSignals: false },
    });
    const warnings = lines.filter((line) => line.includes('Consul DNS'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("'my-service'");
    return adapter.close();
  });
});

describe('discovery options', () => {
  it.each([
    ['an unknown balancer', { client: { balancer: 'fastest' } }, 'discovery.client.balancer'],
    [
      'a per-service balancer option the balancer ignores',
      { services: { payments: { balancer: 'round-robin', balancerOptions: { slowStartMs: 5 } } } },
      'discovery.services.payments.balancerOptions.slowStartMs',
    ],
    [
      'a deadline shorter than the per-try timeout',
      { client: { timeoutMs: 5_000, deadlineMs: 1_000 } },
      'discovery.client.deadlineMs',
    ],
    ['zero attempts', { client: { maxAttempts: 0 } }, 'discovery.client.maxAttempts'],
    ['a retry budget ratio above 1', { retryBudget: { ratio: 2 } }, 'discovery.retryBudget.ratio'],
    ['a negative watch wait', { watch: { waitMs: -1 } }, 'discovery.watch.waitMs'],
    [
      'an outlier option out of range',
      { client: { outlierDetection: { consecutiveFailures: 0 } } },
      'discovery.client.outlierDetection.consecutiveFailures',
    ],
  ])('rejects %s at construction with the field path', (_what, discovery, path) => {
    let caught: unknown;
    try {
      expressConsul(express(), {
        service: { name: 'a' },
        discovery: discovery as never,
        metrics: false,
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).path).toBe(path);
  });
});

describe('unknown options', () => {
  it.each([
    ['top level', { service: { name: 'a' }, servce: {} }, 'servce', 'service'],
    ['service', { service: { nmae: 'a', name: 'a' } }, 'service.nmae', 'name'],
    [
      'service.check',
      { service: { name: 'a', check: { intervalMS: 5000 } } },
      'service.check.intervalMS',
      'intervalMs',
    ],
    [
      'shutdown',
      { service: { name: 'a' }, shutdown: { drainTimeotMs: 5000 } },
      'shutdown.drainTimeotMs',
      'drainTimeoutMs',
    ],
    ['health', { service: { name: 'a' }, health: { pth: '/h' } }, 'health.pth', 'path'],
    [
      'registration',
      { service: { name: 'a' }, registration: { retryMax: 1 } },
      'registration.retryMax',
      'retryMaxMs',
    ],
    ['metrics', { service: { name: 'a' }, metrics: { prefx: 'x_' } }, 'metrics.prefx', 'prefix'],
    ['consul', { service: { name: 'a' }, consul: { tokn: 't' } }, 'consul.tokn', 'token'],
    [
      'consul.tls',
      { service: { name: 'a' }, consul: { tls: { serverNme: 'x' } } },
      'consul.tls.serverNme',
      'serverName',
    ],
    [
      'discovery',
      { service: { name: 'a' }, discovery: { retryBuget: {} } },
      'discovery.retryBuget',
      'retryBudget',
    ],
    [
      'discovery.watch',
      { service: { name: 'a' }, discovery: { watch: { waitMS: 1 } } },
      'discovery.watch.waitMS',
      'waitMs',
    ],
    [
      'discovery.watch.backoff',
      { service: { name: 'a' }, discovery: { watch: { backoff: { max: 1 } } } },
      'discovery.watch.backoff.max',
      undefined,
    ],
    [
      'discovery.client',
      { service: { name: 'a' }, discovery: { client: { maxAttempt: 2 } } },
      'discovery.client.maxAttempt',
      'maxAttempts',
    ],
    [
      'discovery.services.<name>',
      { service: { name: 'a' }, discovery: { services: { payments: { timeotMs: 5 } } } },
      'discovery.services.payments.timeotMs',
      'timeoutMs',
    ],
    [
      'discovery.retryBudget',
      { service: { name: 'a' }, discovery: { retryBudget: { ration: 0.1 } } },
      'discovery.retryBudget.ration',
      'ratio',
    ],
    [
      'outlierDetection',
      { service: { name: 'a' }, discovery: { client: { outlierDetection: { baseEjectMs: 1 } } } },
      'discovery.client.outlierDetection.baseEjectMs',
      'baseEjectionMs',
    ],
    [
      'balancerOptions',
      {
        service: { name: 'a' },
        discovery: { client: { balancer: 'weighted', balancerOptions: { slowStrtMs: 1 } } },
      },
      'discovery.client.balancerOptions.slowStrtMs',
      'slowStartMs',
    ],
    [
      'peakEwma',
      {
        service: { name: 'a' },
        discovery: {
          client: { balancer: 'least-request', balancerOptions: { peakEwma: { decay: 1 } } },
        },
      },
      'discovery.client.balancerOptions.peakEwma.decay',
      'decayMs',
    ],
  ])('are refused in %s with the full path', (_level, options, path, suggestion) => {
    const error = configErrorOf(options);
    expect(error.path).toBe(path);
    expect(error.message).toMatch(/^Invalid option \S+: must be one of the /);
    if (suggestion === undefined) expect(error.message).not.toContain('did you mean');
    else expect(error.message).toContain(`did you mean '${suggestion}'?`);
  });

  it('reads `service.nmae` as a typo of name', () => {
    expect(configErrorOf({ service: { name: 'payments', nmae: 'payments' } }).message).toBe(
      "Invalid option service.nmae: must be one of the options of service; did you mean 'name'? (got a string)",
    );
  });
});

describe('error messages', () => {
  it('share one format across modules', () => {
    const messages = [
      configErrorOf({ service: { name: 'a', port: 70_000 } }).message,
      configErrorOf({ service: { name: 'a' }, consul: { requestTimeoutMs: 0 } }).message,
      configErrorOf({ service: { name: 'a' }, discovery: { client: { maxAttempts: 0 } } }).message,
      configErrorOf({ service: { name: 'a' }, discovery: { retryBudget: { ratio: 2 } } }).message,
      configErrorOf({ service: { name: 'a' }, discovery: { watch: { waitMs: -1 } } }).message,
      configErrorOf({
        service: { name: 'a' },
        discovery: {
          client: { balancer: 'consistent-hash', balancerOptions: { virtualNodes: 0 } },
        },
      }).message,
      configErrorOf({
        service: { name: 'a' },
        discovery: { client: { outlierDetection: { maxEjectionPercent: 101 } } },
      }).message,
    ];
    expect(messages).toEqual([
      'Invalid option service.port: must be an integer from 1 to 65535 (got 70000)',
      'Invalid option consul.requestTimeoutMs: must be a duration in ms > 0 and <= 2147483647 (got 0)',
      'Invalid option discovery.client.maxAttempts: must be an integer >= 1 (got 0)',
      'Invalid option discovery.retryBudget.ratio: must be a number from 0 to 1 (got 2)',
      'Invalid option discovery.watch.waitMs: must be a duration in ms > 0 and <= 600000 (got -1)',
      'Invalid option discovery.client.balancerOptions.virtualNodes: must be an integer from 1 to 10000 (got 0)',
      'Invalid option discovery.client.outlierDetection.maxEjectionPercent: must be a number from 0 to 100 (got 101)',
    ]);
  });

  it('never show a token', () => {
    const token = 'c0ffee00-dead-beef-0000-secret-token';
    const error = configErrorOf({ service: { name: 'a' }, consul: { token: `${token}\n` } });
    expect(error.path).toBe('consul.token');
    expect(error.message).not.toContain('c0ffee00');
    const address = configErrorOf({
      service: { name: 'a' },
      consul: { address: `http://user:${token}@127.0.0.1:8500` },
    });
    expect(address.path).toBe('consul.address');
    expect(address.message).not.toContain('c0ffee00');
  });
});

describe('DEFAULTS', () => {
  it('is what the resolvers apply when every option is left out', () => {
    const resolved = resolveAdapterOptions({ service: { name: 'a' } }, env);
    expect(resolved.service.check).toEqual({
      ...DEFAULTS.service.check,
      successBeforePassing: undefined,
      failuresBeforeCritical: undefined,
      scheme: undefined,
      tls: { serverName: undefined, verify: true },
    });
    expect(resolved.service.tags).toEqual(DEFAULTS.service.tags);
    expect(resolved.health).toEqual({ ...DEFAULTS.health, indicators: [] });
    expect(resolved.shutdown).toEqual(DEFAULTS.shutdown);
    expect(resolved.registration).toEqual(DEFAULTS.registration);
    expect(resolved.metrics).toEqual({ registry: undefined, ...DEFAULTS.metrics });
    expect(resolved.consul).toMatchObject({
      origin: DEFAULTS.consul.address,
      requestTimeoutMs: DEFAULTS.consul.requestTimeoutMs,
    });
    expect(resolved.discovery.watch).toEqual(DEFAULTS.discovery.watch);
    expect(resolved.discovery.retryBudget).toEqual(DEFAULTS.discovery.retryBudget);
    const client = DEFAULTS.discovery.client;
    expect(resolved.discovery.defaults.balancer.create().name).toBe(client.balancer);
    expect(resolved.discovery.defaults).toEqual({
      query: { passingOnly: client.passingOnly, stale: client.stale, cached: client.cached },
      balancer: expect.objectContaining({ kind: client.balancer }),
      timeoutMs: client.timeoutMs,
      deadlineMs: client.deadlineMs,
      maxAttempts: client.maxAttempts,
      retryBackoff: client.retryBackoff,
      retryBudget: DEFAULTS.discovery.retryBudget,
      retryBudgetGroup: undefined,
      scheme: undefined,
      tls: undefined,
      connectTimeoutMs: client.connectTimeoutMs,
      readyTimeoutMs: client.readyTimeoutMs,
      outlierDetection: client.outlierDetection,
      connectionsPerInstance: client.connectionsPerInstance,
      keepAliveTimeoutMs: client.keepAliveTimeoutMs,
      bodyTimeoutMs: client.bodyTimeoutMs,
      maxRetryAfterMs: client.maxRetryAfterMs,
    });
  });

  it('is exported from the package and frozen all the way down', () => {
    expect(PublicDefaults).toBe(DEFAULTS);
    expect(Object.isFrozen(DEFAULTS.discovery.client.outlierDetection)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.shutdown.signals)).toBe(true);
  });
});

describe('service.check TLS options', () => {
  it('accepts scheme and tls (serverName, verify)', () => {
    const resolved = resolveOptions(
      {
        service: {
          name: 'a',
          check: { scheme: 'https', tls: { verify: false, serverName: 'a.internal' } },
        },
      },
      env,
    );
    expect(resolved.service.check).toMatchObject({
      type: 'http',
      scheme: 'https',
      tls: { verify: false, serverName: 'a.internal' },
    });
  });

  it.each([
    [{ scheme: 'ftp' }, 'service.check.scheme', "one of 'http', 'https'"],
    [{ tls: { verify: 'yes' } }, 'service.check.tls.verify', 'true or false'],
    [{ tls: { serverName: '' } }, 'service.check.tls.serverName', 'a non-empty string'],
    [
      { tlsSkipVerify: true },
      'service.check.tlsSkipVerify',
      "renamed to 'tls.verify' (see CHANGELOG.md)",
    ],
    [
      { tlsServerName: 'a' },
      'service.check.tlsServerName',
      "renamed to 'tls.serverName' (see CHANGELOG.md)",
    ],
  ])('rejects %j', (check, path, rule) => {
    const error = configErrorOf({ service: { name: 'a', check } });
    expect(error.path).toBe(path);
    expect(error.rule).toBe(rule);
  });
});
