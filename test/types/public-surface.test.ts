// The package root's surface as the TypeScript compiler sees it: what a user can build must have a
// name they can import. Print the whole reading with
// `npx ts-node --transpile-only test/types/public-surface.ts`.
import { join } from 'node:path';
import { readPublicSurface } from './public-surface';
import type { PublicSurface } from './public-surface';

const typeName = (line: string): string => line.split(' ')[0] ?? line;

describe('the public surface (src/index.ts)', () => {
  let surface: PublicSurface;
  beforeAll(() => {
    surface = readPublicSurface();
  });

  it('exports as values only what a user calls: factories, DEFAULTS, error classes and guards', () => {
    const values = surface.names.filter((name) => name.value);
    const errors = values.filter((name) => name.kind === 'class').map((name) => name.name);
    expect(errors.every((name) => name.endsWith('Error'))).toBe(true);
    const guards = values.filter((name) => /^is[A-Z]\w*Error$/.test(name.name));
    expect(guards.map((name) => name.name).sort()).toEqual(
      errors.map((name) => `is${name}`).sort(),
    );
    expect(
      values
        .filter((name) => name.kind !== 'class' && !guards.includes(name))
        .map((name) => name.name)
        .sort(),
    ).toEqual(['DEFAULTS', 'createConfig', 'createDiscovery', 'expressConsul', 'metricsHandler']);
    expect(values.length).toBe(41);
    expect(surface.names.length).toBe(119);
  });

  it('names every type a user passes to an exported value (options, nested options, callbacks)', () => {
    // Constructor and factory parameters, followed through every option and listener they hold.
    expect(surface.unnamedInputs).toEqual([]);
  });

  it('leaves unnamed only the internals that public-by-accident members of the classes expose', () => {
    // These come through members TypeScript sees as public but a user never calls (ConsulClient's
    // endpoints and lanes, ServiceClient's traffic plan, the metrics' readings, the watcher's
    // ticket, the registration's start). They are to be hidden (`@internal` with `stripInternal`,
    // or narrower types), not exported; a new name here is a new leak.
    expect(surface.unnamed.map(typeName)).toEqual([
      'AdvertisedEndpoint',
      'AgentCheckRegistration',
      'AgentProtocol',
      'AgentService',
      'AgentServiceRegistration',
      'AttemptLoad',
      'AttemptMetricOutcome',
      'AttemptResult',
      // Through TargetSettings (ServiceClient.createTargetRouting), already listed: the balancer it
      // carries is now resolved once, a factory instead of a name and raw options.
      'BalancerFactory',
      'CallOptions',
      'ChainNode',
      'ChainTarget',
      'ConnectionBudget',
      'ConsulLane',
      'ConsulQueryMeta',
      'ConsulQueryResult',
      'DiscoveryChain',
      'DiscoveryReadings',
      'FilterExpression',
      'HeaderModifiers',
      'HealthCheck',
      'HealthServiceEntry',
      'HealthServiceQuery',
      'HealthStateQuery',
      'HealthStatus',
      'InstanceMetrics',
      'InstanceSource',
      'KvEntry',
      'KvQuery',
      'LanePlan',
      'LaneShape',
      'NoAnswerOutcome',
      'ReadTurn',
      'RequestOutcome',
      'ResolvedUpstreamTls',
      'Route',
      'RouteDestination',
      'RouteRequest',
      'RouteRetryPolicy',
      'RoutingTable',
      'ServiceMetrics',
      'ServiceReading',
      'SessionCreateRequest',
      'SessionInfo',
      'TargetRouting',
      'TargetSettings',
      'ThrottleListener',
      'TrafficChoice',
      'TrafficMiss',
      'TrafficPlan',
      'TrafficQuery',
      'WatchBudgetReading',
      'WatchTicket',
    ]);
  });

  it('exports no type that nothing exported leads to, but aliases the compiler inlines', () => {
    // Each of these is reached, but as the union it stands for (a literal union inside a larger
    // one, `Extract<FailReason, ...>` in the error classes), so the reading cannot see its name.
    expect(surface.unreachable).toEqual([
      'BalancerName',
      'FailReason',
      'HealthReport',
      'HealthState',
      'InferSchemaOutput',
      'RegistrationState',
    ]);
  });
});

describe('the surface reader', () => {
  it('finds an unexported nested option and listener event, and an output, but no private member', () => {
    const fixture = readPublicSurface(join(__dirname, 'fixtures', 'surface', 'index.ts'));
    expect(fixture.names).toEqual([
      { name: 'Widget', value: true, kind: 'class' },
      { name: 'WidgetOptions', value: false, kind: 'interface' },
      { name: 'Orphan', value: false, kind: 'interface' },
    ]);
    expect(fixture.unnamedInputs.map(typeName)).toEqual(['RetryShape', 'WidgetEvent']);
    expect(fixture.unnamed.map(typeName)).toEqual(['RetryShape', 'WidgetEvent', 'WidgetReport']);
    expect(fixture.unreachable).toEqual(['Orphan']);
  });
});
