// Compile-time checks of the public surface: `npm run typecheck` fails if a line marked as an
// expected error stops being one. The runtime part only proves the exports exist.
import express from 'express';
import * as api from '../../src';
import type { ExpressConsulOptions, ServiceRequest, ServiceClientOptions } from '../../src';

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

const good: ExpressConsulOptions = {
  service: { name: 'payments', tags: ['v2'], weights: { passing: 10, warning: 1 } },
  discovery: { services: { ledger: { balancer: 'least-request', maxAttempts: 2 } } },
  shutdown: { handleSignals: false },
  metrics: false,
};

describe('public API', () => {
  it('exports the documented names and nothing that needs a deep import', () => {
    void [missingName, stringPort, grpcCheck, badBalancer, objectBody];
    expect(Object.keys(api).sort()).toEqual(
      [
        'AbortedError',
        'ClosedError',
        'ConfigError',
        'ConsulAclError',
        'ConsulClient',
        'ConsulConfig',
        'ConsulLock',
        'ConsulResponseError',
        'ConsulResponseTooLargeError',
        'ConsulUnavailableError',
        'DEFAULTS',
        'Discovery',
        'ExpressConsul',
        'ExpressConsulError',
        'ExpressConsulMetrics',
        'InvalidStateError',
        'KvConfigError',
        'LeaderElection',
        'LeaseLostError',
        'LockHeldError',
        'LockLease',
        'NoHealthyInstancesError',
        'RequestTimeoutError',
        'RetriesExhaustedError',
        'ServiceClient',
        'ServiceNotAllowedError',
        'ServiceRegistration',
        'ServiceWatcher',
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
    expect(adapter).toBeInstanceOf(api.ExpressConsul);
    return adapter.close();
  });
});
