import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import type { DiscoveryOptions } from '../../src/client/discovery-options';
import { ConfigError } from '../../src/errors';
import { thrownBy } from '../support/thrown-by';

function configError(options: unknown): ConfigError {
  const error = thrownBy(() => resolveDiscoveryOptions(options as DiscoveryOptions));
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

describe('resolveDiscoveryOptions', () => {
  it('keys per-service options by the lower-cased service name', () => {
    const resolved = resolveDiscoveryOptions({
      client: { timeoutMs: 1_000 },
      services: { Payments: { maxAttempts: 1 }, 'Ledger.V2': { timeoutMs: 500 } },
    });
    expect([...resolved.services.keys()]).toEqual(['payments', 'ledger.v2']);
    expect(resolved.services.get('payments')).toMatchObject({ maxAttempts: 1, timeoutMs: 1_000 });
    expect(resolved.services.get('ledger.v2')).toMatchObject({ maxAttempts: 3, timeoutMs: 500 });
    expect(resolved.defaults).toMatchObject({ maxAttempts: 3, timeoutMs: 1_000 });
  });

  it('refuses two keys naming one service in different case', () => {
    const error = configError({ services: { payments: {}, Payments: { maxAttempts: 1 } } });
    expect(error.path).toBe('discovery.services.Payments');
    expect(error.message).toBe(
      'Invalid option discovery.services.Payments: must be the only key naming its service: Consul ignores case, and \'payments\' names it too (got "Payments")',
    );
  });

  it('gives each service the discovery-level retry budget unless it sets its own', () => {
    const resolved = resolveDiscoveryOptions({
      retryBudget: { ratio: 0.5 },
      services: { payments: {}, ledger: { retryBudget: { minRetriesPerSecond: 0 } } },
    });
    expect(resolved.retryBudget).toEqual({ ratio: 0.5, windowMs: 10_000, minRetriesPerSecond: 10 });
    expect(resolved.defaults.retryBudget).toEqual(resolved.retryBudget);
    expect(resolved.services.get('payments')?.retryBudget).toEqual(resolved.retryBudget);
    expect(resolved.services.get('ledger')?.retryBudget).toEqual({
      ratio: 0.5,
      windowMs: 10_000,
      minRetriesPerSecond: 0,
    });
  });

  it('validates the watch settings', () => {
    expect(resolveDiscoveryOptions({ watch: { waitMs: 5_000 } }).watch).toEqual({
      waitMs: 5_000,
      backoff: { baseMs: 250, maxMs: 10_000 },
      minUpdateIntervalMs: 50,
      pollRatePerSecond: 200,
      pollRefreshMs: 30_000,
      checkWatchIntervalMs: 500,
    });
    expect(configError({ watch: { pollRatePerSecond: 0 } }).path).toBe(
      'discovery.watch.pollRatePerSecond',
    );
    expect(configError({ watch: { pollRefreshMs: 10 } }).path).toBe(
      'discovery.watch.pollRefreshMs',
    );
    // Query options belong to clients, not to the shared watch settings.
    expect(configError({ watch: { tag: 'blue' } }).path).toBe('discovery.watch.tag');
  });

  it.each([
    [
      { services: { payments: { timeotMs: 5 } } },
      'discovery.services.payments.timeotMs',
      'timeoutMs',
    ],
    [{ client: { readyTimeotMs: 5 } }, 'discovery.client.readyTimeotMs', 'readyTimeoutMs'],
    [{ clients: {} }, 'discovery.clients', 'client'],
    [
      { services: { payments: { tls: { servrname: 'x' } } } },
      'discovery.services.payments.tls.servrname',
      'serverName',
    ],
  ])('reports an unknown key where it was written: %j', (options, path, suggestion) => {
    const error = configError(options);
    expect(error.path).toBe(path);
    expect(error.message).toContain(`did you mean '${suggestion}'?`);
  });

  it('reports a bad client value under discovery.client, not under every service', () => {
    expect(configError({ client: { maxAttempts: 0 }, services: { a: {} } }).path).toBe(
      'discovery.client.maxAttempts',
    );
  });

  it.each([
    [{ services: [] }, 'discovery.services'],
    [{ services: { payments: 5 } }, 'discovery.services.payments'],
  ])('refuses %j', (options, path) => {
    expect(configError(options).path).toBe(path);
  });
});
