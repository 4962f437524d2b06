import express from 'express';
import { expressConsul } from '../../src';
import { ConfigError } from '../../src/errors';
import { resolveOptions } from '../../src/config/resolve-options';
import type { ExpressConsulOptions } from '../../src/config/options';
import { recordingLogger } from '../support/consul-reads';

const env = {};

function configErrorOf(options: unknown, environment: NodeJS.ProcessEnv = env): ConfigError {
  try {
    resolveOptions(options as ExpressConsulOptions, environment);
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
    expect(resolved.consul.token).toBe('secret-token');
  });

  it('lets options win over the environment', () => {
    const resolved = resolveOptions(
      { service: { name: 'a' }, consul: { address: 'http://127.0.0.3:1234', token: 'mine' } },
      { CONSUL_HTTP_ADDR: '127.0.0.2:8600', CONSUL_HTTP_TOKEN: 'env' },
    );
    expect(resolved.consul.origin).toBe('http://127.0.0.3:1234');
    expect(resolved.consul.token).toBe('mine');
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
