// Compile-time checks of the public surface: `npm run typecheck` fails if a line marked as an
// expected error stops being one. The runtime part only proves the exports exist.
import express from 'express';
import * as api from '../../src';
import type {
  ExpressConsulOptions,
  ServiceClient,
  ServiceClientOptions,
  ServiceRequest,
  ServiceWatcher,
} from '../../src';

const app = express();

// @ts-expect-error service.name is required
const missingName: ExpressConsulOptions = { service: {} };
// @ts-expect-error ports are numbers
const stringPort: ExpressConsulOptions = { service: { name: 'a', port: '80' } };
// @ts-expect-error only the http check type exists
const grpcCheck: ExpressConsulOptions = { service: { name: 'a', check: { type: 'grpc' } } };
// @ts-expect-error unknown balancer names are refused by the type too
const badBalancer: ServiceClientOptions = { balancer: 'fastest' };
// @ts-expect-error bodies are strings, bytes or streams
const objectBody: ServiceRequest = { body: { amount: 3 } };

// The classes behind the factories are types only: a user gets them from the factories.
const notValues = (): unknown[] => [
  // @ts-expect-error expressConsul(app, options) builds one
  api.ExpressConsul,
  // @ts-expect-error createDiscovery(options) builds one
  api.Discovery,
  // @ts-expect-error internal; the adapter's own is ExpressConsul.consul
  api.ConsulClient,
  // @ts-expect-error a service client's is ServiceClient.watcher
  api.ServiceWatcher,
];

// A service client's watcher is `watcher` (0.1 called it `discovery`).
const watcherOf = (client: ServiceClient): ServiceWatcher => {
  // @ts-expect-error renamed to watcher
  void client.discovery;
  return client.watcher;
};

const good: ExpressConsulOptions = {
  service: { name: 'payments', tags: ['v2'], weights: { passing: 10, warning: 1 } },
  discovery: { services: { ledger: { balancer: 'least-request', maxAttempts: 2 } } },
  shutdown: { handleSignals: false },
  metrics: false,
};

describe('public API', () => {
  it('exports as values what a user calls, and nothing that needs a deep import', () => {
    void [missingName, stringPort, grpcCheck, badBalancer, objectBody, notValues, watcherOf];
    expect(Object.keys(api).sort()).toEqual(
      [
        'AbortedError',
        'ClosedError',
        'ConfigError',
        'ConsulAclError',
        'ConsulResponseError',
        'ConsulResponseTooLargeError',
        'ConsulUnavailableError',
        'DEFAULTS',
        'ExpressConsulError',
        'InvalidStateError',
        'KvConfigError',
        'LeaseLostError',
        'LockHeldError',
        'NoHealthyInstancesError',
        'RequestTimeoutError',
        'RetriesExhaustedError',
        'ServiceNotAllowedError',
        'TooManyServicesError',
        'UpstreamError',
        'createConfig',
        'createDiscovery',
        'expressConsul',
        'isAbortedError',
        'isClosedError',
        'isConfigError',
        'isConsulAclError',
        'isConsulResponseError',
        'isConsulResponseTooLargeError',
        'isConsulUnavailableError',
        'isExpressConsulError',
        'isInvalidStateError',
        'isKvConfigError',
        'isLeaseLostError',
        'isLockHeldError',
        'isNoHealthyInstancesError',
        'isRequestTimeoutError',
        'isRetriesExhaustedError',
        'isServiceNotAllowedError',
        'isTooManyServicesError',
        'isUpstreamError',
        'metricsHandler',
      ].sort(),
    );
    const adapter = api.expressConsul(app, good);
    expect(adapter.state).toBe('created');
    return adapter.close();
  });
});
