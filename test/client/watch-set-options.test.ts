import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import type { DiscoveryOptions } from '../../src/client/discovery-options';
import { DEFAULTS } from '../../src/config/defaults';
import { ConfigError } from '../../src/errors';
import { thrownBy } from '../support/thrown-by';

function configError(options: unknown): ConfigError {
  const error = thrownBy(() => resolveDiscoveryOptions(options as DiscoveryOptions));
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

describe('watch set options', () => {
  it('default to a 10 min idle timeout, 256 services and any name', () => {
    const resolved = resolveDiscoveryOptions({});
    expect(resolved).toMatchObject({ idleTimeoutMs: 600_000, maxServices: 256 });
    expect(resolved.allowedServices).toBeUndefined();
    expect(DEFAULTS.discovery).toMatchObject({ idleTimeoutMs: 600_000, maxServices: 256 });
  });

  it('take 0 as "never release" and lower-case the allowed names', () => {
    const resolved = resolveDiscoveryOptions({
      idleTimeoutMs: 0,
      maxServices: 1,
      allowedServices: ['Payments', 'ledger.v2'],
    });
    expect(resolved.idleTimeoutMs).toBe(0);
    expect(resolved.maxServices).toBe(1);
    expect([...(resolved.allowedServices ?? [])]).toEqual(['payments', 'ledger.v2']);
    expect(resolveDiscoveryOptions({ allowedServices: [] }).allowedServices?.size).toBe(0);
  });

  it.each([
    [{ idleTimeoutMs: -1 }, 'discovery.idleTimeoutMs'],
    [{ idleTimeoutMs: 50 }, 'discovery.idleTimeoutMs'],
    [{ idleTimeoutMs: Number.NaN }, 'discovery.idleTimeoutMs'],
    [{ idleTimeoutMs: '600000' }, 'discovery.idleTimeoutMs'],
    [{ maxServices: 0 }, 'discovery.maxServices'],
    [{ maxServices: 1.5 }, 'discovery.maxServices'],
    [{ maxServices: Infinity }, 'discovery.maxServices'],
    [{ allowedServices: 'payments' }, 'discovery.allowedServices'],
    [{ allowedServices: ['payments', ''] }, 'discovery.allowedServices'],
    [{ allowedServices: [42] }, 'discovery.allowedServices'],
  ])('refuse %j with a ConfigError naming %s', (options, path) => {
    expect(configError(options).path).toBe(path);
  });

  it('say what an idle timeout must be', () => {
    expect(configError({ idleTimeoutMs: 50 }).message).toBe(
      'Invalid option discovery.idleTimeoutMs: must be 0 (never) or a duration in ms >= 100 (got 50)',
    );
  });
});
