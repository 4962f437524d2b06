import { resolveServiceClientOptions } from '../../src/client/service-client-options';
import type { ServiceClientOptions } from '../../src/client/service-client-options';
import { DEFAULTS } from '../../src/config/defaults';
import { ConfigError } from '../../src/errors';
import { thrownBy } from '../support/thrown-by';

function configError(options: unknown, path = 'client'): ConfigError {
  const error = thrownBy(() => resolveServiceClientOptions(options as ServiceClientOptions, path));
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n';

describe('resolveServiceClientOptions', () => {
  it('applies the DEFAULTS of the new options', () => {
    const resolved = resolveServiceClientOptions();
    expect(resolved.retryBackoff).toEqual({ baseMs: 25, maxMs: 250 });
    expect(resolved.retryBackoff).toEqual(DEFAULTS.discovery.client.retryBackoff);
    expect(resolved.retryBudget).toEqual({ ratio: 0.2, windowMs: 10_000, minRetriesPerSecond: 10 });
    expect(resolved.retryBudgetGroup).toBeUndefined();
    expect(resolved.scheme).toBeUndefined();
    expect(resolved.tls).toBeUndefined();
  });

  describe('retryBackoff', () => {
    it('accepts baseMs 0 (no delay) and raises the default maxMs to a larger baseMs', () => {
      expect(resolveServiceClientOptions({ retryBackoff: { baseMs: 0 } }).retryBackoff).toEqual({
        baseMs: 0,
        maxMs: 250,
      });
      expect(resolveServiceClientOptions({ retryBackoff: { baseMs: 400 } }).retryBackoff).toEqual({
        baseMs: 400,
        maxMs: 400,
      });
    });

    it.each([
      [{ baseMs: -1 }, 'client.retryBackoff.baseMs'],
      [{ maxMs: Number.NaN }, 'client.retryBackoff.maxMs'],
      [{ baseMs: 100, maxMs: 50 }, 'client.retryBackoff.maxMs'],
      [{ base: 1 }, 'client.retryBackoff.base'],
    ])('rejects %j at %s', (retryBackoff, path) => {
      expect(configError({ retryBackoff }).path).toBe(path);
    });

    it('says maxMs must be at least baseMs', () => {
      expect(configError({ retryBackoff: { baseMs: 100, maxMs: 50 } }).message).toBe(
        'Invalid option client.retryBackoff.maxMs: must be at least client.retryBackoff.baseMs (100) (got 50)',
      );
    });
  });

  describe('retryBudget', () => {
    it('inherits the fields it leaves out from the discovery-level budget', () => {
      const inherited = { retryBudget: { ratio: 0.5, windowMs: 20_000, minRetriesPerSecond: 1 } };
      expect(
        resolveServiceClientOptions({ retryBudget: { ratio: 0.1 } }, 'client', inherited)
          .retryBudget,
      ).toEqual({ ratio: 0.1, windowMs: 20_000, minRetriesPerSecond: 1 });
      expect(resolveServiceClientOptions({}, 'client', inherited).retryBudget).toEqual(
        inherited.retryBudget,
      );
    });

    it.each([
      [{ ratio: 1.5 }, 'client.retryBudget.ratio'],
      [{ windowMs: 10 }, 'client.retryBudget.windowMs'],
      [{ minRetries: 1 }, 'client.retryBudget.minRetries'],
    ])('rejects %j at %s', (retryBudget, path) => {
      expect(configError({ retryBudget }).path).toBe(path);
    });
  });

  describe('retryBudgetGroup', () => {
    it('is kept as given', () => {
      expect(resolveServiceClientOptions({ retryBudgetGroup: 'ledger' }).retryBudgetGroup).toBe(
        'ledger',
      );
    });

    it.each([[''], [7]])('rejects %p', (retryBudgetGroup) => {
      expect(configError({ retryBudgetGroup }).path).toBe('client.retryBudgetGroup');
    });
  });

  describe('scheme', () => {
    it.each([['http'], ['https']] as const)('accepts %s', (scheme) => {
      expect(resolveServiceClientOptions({ scheme }).scheme).toBe(scheme);
    });

    it('rejects another scheme', () => {
      expect(configError({ scheme: 'ftp' }).message).toBe(
        "Invalid option client.scheme: must be one of 'http', 'https' (got \"ftp\")",
      );
    });
  });

  describe('tls', () => {
    it('keeps the given fields and verifies by default', () => {
      const ca = [PEM, Buffer.from(PEM)];
      expect(
        resolveServiceClientOptions({ tls: { ca, cert: PEM, key: KEY, serverName: 'payments' } })
          .tls,
      ).toEqual({ ca, cert: PEM, key: KEY, serverName: 'payments', verify: true });
      expect(resolveServiceClientOptions({ tls: {} }).tls).toEqual({ verify: true });
      expect(resolveServiceClientOptions({ tls: { verify: false } }).tls).toEqual({
        verify: false,
      });
    });

    it.each([
      [{ ca: 5 }, 'client.tls.ca'],
      [{ ca: [] }, 'client.tls.ca'],
      [{ ca: [PEM, 1] }, 'client.tls.ca'],
      [{ cert: PEM }, 'client.tls.key'],
      [{ key: KEY }, 'client.tls.cert'],
      [{ cert: 1, key: KEY }, 'client.tls.cert'],
      [{ serverName: '' }, 'client.tls.serverName'],
      [{ verify: 'no' }, 'client.tls.verify'],
      // Node's spellings, renamed in 0.2.0: the error says to what.
      [{ rejectUnauthorized: false }, 'client.tls.rejectUnauthorized'],
      [{ servername: 'a' }, 'client.tls.servername'],
    ])('rejects %j at %s', (tls, path) => {
      expect(configError({ tls }).path).toBe(path);
    });

    it('never shows key material', () => {
      const error = configError({ tls: { key: `${KEY}`, cert: 42 } });
      const keyError = configError({ tls: { cert: PEM, key: { pem: KEY } } });
      for (const message of [error.message, keyError.message]) {
        expect(message).not.toContain('secret-key-material');
      }
      expect(configError({ tls: { key: 'x'.repeat(5), cert: PEM, serverName: 5 } }).message).toBe(
        'Invalid option client.tls.serverName: must be a non-empty string (got 5)',
      );
    });
  });

  it('names balancer options where they were written', () => {
    expect(
      configError(
        { balancer: 'round-robin', balancerOptions: { slowStartMs: 5 } },
        'discovery.services.payments',
      ).message,
    ).toBe(
      'Invalid option discovery.services.payments.balancerOptions.slowStartMs: must be left out with round-robin: it applies only to weighted and least-request (got 5)',
    );
  });

  it('rejects an unknown key with a suggestion', () => {
    expect(configError({ retryBackof: {} }).message).toContain("did you mean 'retryBackoff'?");
  });
});
