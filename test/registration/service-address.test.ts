import type { NetworkInterfaceInfo } from 'node:os';
import { AbortedError } from '../../src/errors';
import type { Logger } from '../../src/logger';
import {
  chooseServiceAddress,
  isAgentOnLoopback,
  needsRouteToAgent,
  resolveServiceAddress,
} from '../../src/registration/service-address';
import type { AddressFacts, AddressProbes } from '../../src/registration/service-address';

const ANY4 = { address: '0.0.0.0', family: 'IPv4' };
const ANY6 = { address: '::', family: 'IPv6' };
const LOCAL_AGENT = 'http://127.0.0.1:8500';
const REMOTE_AGENT = 'http://consul:8500';

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({
    address,
    family,
    internal,
    netmask: '',
    mac: '',
    cidr: null,
    ...(family === 'IPv6' && { scopeid: 0 }),
  }) as NetworkInterfaceInfo;

const INTERFACES = {
  lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
  eth0: [iface('fe80::1', 'IPv6'), iface('2001:db8::5', 'IPv6'), iface('192.0.2.10', 'IPv4')],
};

const facts = (over: Partial<AddressFacts>): AddressFacts => ({
  explicit: undefined,
  bound: ANY6,
  consulOrigin: LOCAL_AGENT,
  interfaces: INTERFACES,
  ...over,
});

describe('chooseServiceAddress', () => {
  it('uses service.address for the registration and the check, whatever else holds', () => {
    for (const bound of [ANY4, ANY6, { address: '127.0.0.1', family: 'IPv4' }])
      for (const consulOrigin of [LOCAL_AGENT, REMOTE_AGENT])
        expect(
          chooseServiceAddress(
            facts({
              explicit: 'payments.internal',
              bound,
              consulOrigin,
              routeToAgent: '172.18.0.5',
            }),
          ),
        ).toEqual({
          address: 'payments.internal',
          checkAddress: 'payments.internal',
          source: 'option',
        });
  });

  it("listening on every interface with the agent on this host's loopback: no address (the node's), checked through 127.0.0.1", () => {
    for (const bound of [ANY4, ANY6])
      for (const consulOrigin of [
        LOCAL_AGENT,
        'http://localhost:8500',
        'https://[::1]:8501',
        'http://127.0.0.2:8500',
        'http://agent.localhost:8500',
      ])
        expect([consulOrigin, chooseServiceAddress(facts({ bound, consulOrigin }))]).toEqual([
          consulOrigin,
          { address: '', checkAddress: '127.0.0.1', source: 'node' },
        ]);
  });

  it('listening on one address advertises exactly that one (IPv4-mapped as IPv4, ::1 as ::1)', () => {
    const bound = (address: string) => ({
      address,
      family: address.includes(':') && !address.includes('.') ? 'IPv6' : 'IPv4',
    });
    for (const [listening, advertised] of [
      ['10.1.2.3', '10.1.2.3'],
      ['::ffff:10.1.2.3', '10.1.2.3'],
      ['::ffff:a01:203', '10.1.2.3'],
      ['2001:db8::7', '2001:db8::7'],
      ['127.0.0.1', '127.0.0.1'],
      // A server on ::1 only does not answer on 127.0.0.1.
      ['::1', '::1'],
    ] as const)
      expect(chooseServiceAddress(facts({ bound: bound(listening) }))).toEqual({
        address: advertised,
        checkAddress: advertised,
        source: 'bound',
      });
  });

  it('warns when a server on loopback only is registered with an agent that is not on this host', () => {
    const choice = chooseServiceAddress(
      facts({
        bound: { address: '127.0.0.1', family: 'IPv4' },
        consulOrigin: REMOTE_AGENT,
        routeToAgent: '172.18.0.5',
      }),
    );
    expect(choice).toMatchObject({
      address: '127.0.0.1',
      checkAddress: '127.0.0.1',
      source: 'bound',
    });
    expect(choice.warning).toMatch(/listens on 127\.0\.0\.1 only.*consul:8500.*cannot reach/);
  });

  it('with the agent elsewhere, advertises the local address of the route to it', () => {
    for (const bound of [ANY4, ANY6])
      expect(
        chooseServiceAddress(
          facts({ bound, consulOrigin: REMOTE_AGENT, routeToAgent: '172.18.0.5' }),
        ),
      ).toEqual({
        address: '172.18.0.5',
        checkAddress: '172.18.0.5',
        source: 'route-to-agent',
      });
    expect(
      chooseServiceAddress(
        facts({ consulOrigin: 'http://[2001:db8::1]:8500', routeToAgent: '2001:db8::5' }),
      ),
    ).toMatchObject({ address: '2001:db8::5', source: 'route-to-agent' });
    expect(
      chooseServiceAddress(
        facts({ consulOrigin: REMOTE_AGENT, routeToAgent: '::ffff:172.18.0.5' }),
      ),
    ).toMatchObject({ address: '172.18.0.5' });
  });

  it('a route through loopback (a name that resolves to 127.0.0.1) means the agent is on this host', () => {
    expect(
      chooseServiceAddress(
        facts({ consulOrigin: 'http://consul.service:8500', routeToAgent: '127.0.0.1' }),
      ),
    ).toEqual({
      address: '',
      checkAddress: '127.0.0.1',
      source: 'node',
    });
  });

  it('falls back to the first non-internal IPv4 with a warning when the route is unknown or unusable', () => {
    const unknown = chooseServiceAddress(facts({ consulOrigin: REMOTE_AGENT }));
    expect(unknown).toMatchObject({
      address: '192.0.2.10',
      checkAddress: '192.0.2.10',
      source: 'interface',
    });
    expect(unknown.warning).toMatch(/route to the Consul agent at consul:8500 is unknown/);
    // An IPv4-only server cannot be reached at the IPv6 address the route goes through.
    const ipv6Route = chooseServiceAddress(
      facts({ bound: ANY4, consulOrigin: REMOTE_AGENT, routeToAgent: '2001:db8::5' }),
    );
    expect(ipv6Route).toMatchObject({ address: '192.0.2.10', source: 'interface' });
    expect(ipv6Route.warning).toMatch(/IPv4 only/);
  });

  it('without any IPv4 interface, a server on :: falls back to a global IPv6 (never link-local); none at all gives 127.0.0.1', () => {
    const v6only = { eth0: [iface('fe80::1', 'IPv6'), iface('2001:db8::5', 'IPv6')] };
    expect(
      chooseServiceAddress(facts({ consulOrigin: REMOTE_AGENT, interfaces: v6only })).address,
    ).toBe('2001:db8::5');
    expect(
      chooseServiceAddress(facts({ bound: ANY4, consulOrigin: REMOTE_AGENT, interfaces: v6only }))
        .address,
    ).toBe('127.0.0.1');
    expect(
      chooseServiceAddress(facts({ consulOrigin: REMOTE_AGENT, interfaces: {} })).warning,
    ).toBeDefined();
  });
});

describe('needsRouteToAgent and isAgentOnLoopback', () => {
  it('measures the route only for a server on every interface, without service.address, whose agent is not on loopback', () => {
    expect(needsRouteToAgent(facts({ consulOrigin: REMOTE_AGENT }))).toBe(true);
    expect(needsRouteToAgent(facts({ consulOrigin: REMOTE_AGENT, bound: ANY4 }))).toBe(true);
    expect(needsRouteToAgent(facts({ consulOrigin: LOCAL_AGENT }))).toBe(false);
    expect(needsRouteToAgent(facts({ consulOrigin: REMOTE_AGENT, explicit: '10.0.0.1' }))).toBe(
      false,
    );
    expect(
      needsRouteToAgent(
        facts({ consulOrigin: REMOTE_AGENT, bound: { address: '10.0.0.1', family: 'IPv4' } }),
      ),
    ).toBe(false);
  });

  it('knows loopback origins in every spelling, and nothing else', () => {
    for (const origin of [
      'http://127.0.0.1:8500',
      'http://127.1.2.3:1',
      'http://[::1]:8500',
      'http://LOCALHOST:8500',
      'http://[::ffff:127.0.0.1]:8500',
    ])
      expect([origin, isAgentOnLoopback(origin)]).toEqual([origin, true]);
    for (const origin of [
      'http://consul:8500',
      'http://10.0.0.1:8500',
      'http://[2001:db8::1]:8500',
      'http://localhost.example.com:8500',
      'http://128.0.0.1:8500',
    ])
      expect([origin, isAgentOnLoopback(origin)]).toEqual([origin, false]);
  });
});

describe('resolveServiceAddress', () => {
  const logged: { level: string; msg: string | undefined }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (_obj, msg) => logged.push({ level: 'warn', msg }),
    error: (_obj, msg) => logged.push({ level: 'error', msg }),
  };
  beforeEach(() => {
    logged.length = 0;
  });
  const probes = (route: () => Promise<string>): AddressProbes & { calls: number } => {
    const counted = {
      calls: 0,
      routeToAgent: () => {
        counted.calls += 1;
        return route();
      },
      interfaces: () => INTERFACES,
    };
    return counted;
  };

  it('asks for the route only when the rule uses it', async () => {
    const local = probes(() => Promise.resolve('10.9.9.9'));
    expect(
      await resolveServiceAddress(
        { explicit: undefined, bound: ANY6, consulOrigin: LOCAL_AGENT },
        logger,
        { probes: local },
      ),
    ).toMatchObject({ address: '', source: 'node' });
    expect(local.calls).toBe(0);
    const remote = probes(() => Promise.resolve('172.18.0.5'));
    expect(
      await resolveServiceAddress(
        { explicit: undefined, bound: ANY6, consulOrigin: REMOTE_AGENT },
        logger,
        { probes: remote },
      ),
    ).toMatchObject({ address: '172.18.0.5', source: 'route-to-agent' });
    expect(remote.calls).toBe(1);
    expect(logged).toEqual([]);
  });

  it('a route that cannot be found is logged once, with the fallback warning, and the service still starts', async () => {
    const failing = probes(() => Promise.reject(new Error('getaddrinfo ENOTFOUND consul')));
    const choice = await resolveServiceAddress(
      { explicit: undefined, bound: ANY6, consulOrigin: REMOTE_AGENT },
      logger,
      { probes: failing },
    );
    expect(choice).toMatchObject({ address: '192.0.2.10', source: 'interface' });
    expect(logged.map((entry) => entry.msg)).toEqual([
      'cannot find the route to the Consul agent',
      choice.warning,
    ]);
  });

  it('an abort while measuring rejects instead of registering a guess', async () => {
    const controller = new AbortController();
    const hanging = probes(() => {
      controller.abort();
      return Promise.reject(new AbortedError('finding the route to the Consul agent'));
    });
    await expect(
      resolveServiceAddress(
        { explicit: undefined, bound: ANY6, consulOrigin: REMOTE_AGENT },
        logger,
        { probes: hanging, signal: controller.signal },
      ),
    ).rejects.toBeInstanceOf(AbortedError);
  });
});
