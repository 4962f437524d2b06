// Options are resolved once, at the edge (expressConsul(), createDiscovery(), a public
// constructor given raw options); the parts below take what the edge resolved and read no
// option section again. OptionReader.strict is where every section is read, so its calls say
// which sections were read where.
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import { Discovery } from '../../src/client/discovery';
import { OptionReader } from '../../src/config/option-reader';
import { ConsulClient } from '../../src/consul/consul-client';
import { resolveConsulConnection } from '../../src/consul/consul-environment';
import { resolveServiceWatcherOptions } from '../../src/watch/service-watcher-options';
import { ServiceWatcher } from '../../src/watch/service-watcher';
import { ConfigError } from '../../src/errors';
import { resolveAdapterOptions } from '../../src/express/resolve-adapter-options';
import { silentLogger } from '../../src/logger';
import { ScriptedHealthSource } from '../watch/fake-health-source';
import { thrownBy } from '../support/thrown-by';

/** The paths of the option sections `run` reads. */
function sectionsRead(run: () => void): string[] {
  const strict = jest.spyOn(OptionReader, 'strict');
  try {
    run();
    return strict.mock.calls.map(([, path]) => path);
  } finally {
    strict.mockRestore();
  }
}

describe('options resolved once', () => {
  it('expressConsul(): each section read once at the edge, the discovery section included', () => {
    const read = sectionsRead(() =>
      resolveAdapterOptions(
        {
          service: { name: 'a' },
          discovery: {
            client: { timeoutMs: 500 },
            services: { payments: { maxAttempts: 2 } },
            watch: { waitMs: 5_000 },
          },
        },
        {},
      ),
    );
    const twice = read.filter((path, i) => read.indexOf(path) !== i);
    // services.payments is read alone first (unknown keys reported where written), then merged
    // over `client`: one section, two readers by design.
    expect(twice).toEqual(['discovery.services.payments']);
    expect(read).toEqual(expect.arrayContaining(['discovery', 'discovery.watch', 'consul']));
  });

  it('Discovery reads no option section of its own: it takes the resolved ones', async () => {
    const resolved = resolveDiscoveryOptions({ watch: { waitMs: 5_000 } });
    const source = new ScriptedHealthSource();
    let discovery: Discovery | undefined;
    const read = sectionsRead(() => {
      discovery = new Discovery(source as never, resolved, undefined, silentLogger);
      discovery.service('payments');
    });
    // Not even the balancer's: building one per service (and per chain target) takes them resolved.
    expect(read).toEqual([]);
    await discovery?.close();
  });

  it('balancer options are read once, where the client options are resolved', async () => {
    const source = new ScriptedHealthSource();
    let discovery: Discovery | undefined;
    const read = sectionsRead(() => {
      const resolved = resolveDiscoveryOptions({
        client: { balancer: 'least-request', balancerOptions: { peakEwma: { decayMs: 500 } } },
      });
      discovery = new Discovery(source as never, resolved, undefined, silentLogger);
      discovery.service('payments');
      discovery.service('orders');
    });
    expect(read.filter((path) => path.includes('balancerOptions'))).toEqual([
      'discovery.client.balancerOptions',
      'discovery.client.balancerOptions.peakEwma',
    ]);
    await discovery?.close();
  });

  it('a ServiceWatcher takes options resolved for it as they are, and validates any other', async () => {
    const resolved = resolveServiceWatcherOptions({ waitMs: 5_000 });
    const source = new ScriptedHealthSource();
    let watcher: ServiceWatcher | undefined;
    expect(sectionsRead(() => (watcher = new ServiceWatcher(source, 'web', resolved)))).toEqual([]);
    await watcher?.close();
    // A copy is raw options, however it is shaped: validated, and `query` is not an option.
    expect(thrownBy(() => new ServiceWatcher(source, 'web', { ...resolved }))).toEqual(
      expect.objectContaining({ path: 'watch.query' }),
    );
  });

  it('a ConsulClient takes a resolved connection as it is, and validates any other', async () => {
    const resolved = resolveConsulConnection({ address: 'http://127.0.0.1:1' }, {});
    let client: ConsulClient | undefined;
    expect(sectionsRead(() => (client = new ConsulClient(resolved)))).toEqual([]);
    await client?.close();
    // Raw options that happen to hold an `origin` are still raw: refused, never trusted.
    const forged = { origin: 'http://127.0.0.1:1', maxConnections: 32, requestTimeoutMs: -1 };
    const error = thrownBy(() => new ConsulClient(forged));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toEqual(expect.objectContaining({ path: 'consul.origin' }));
  });
});
