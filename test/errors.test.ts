import * as api from '../src';
import {
  AbortedError,
  ClosedError,
  ConfigError,
  ConsulAclError,
  ConsulResponseError,
  ConsulResponseTooLargeError,
  ConsulUnavailableError,
  ExpressConsulError,
  InvalidStateError,
  NoHealthyInstancesError,
  RequestTimeoutError,
  RetriesExhaustedError,
  ServiceNotAllowedError,
  TooManyServicesError,
  UpstreamError,
  KvConfigError,
  LockHeldError,
} from '../src/errors';
import { LeaseLostError } from '../src/leader/consul-lock';

describe('error codes', () => {
  const errors: ExpressConsulError[] = [
    new ConfigError('service.port', 'an integer', 0),
    new ConsulUnavailableError('/v1/agent/self', 'connection refused'),
    new ConsulAclError('/v1/agent/service/register', 403, 'Permission denied'),
    new ConsulResponseError('/v1/health/service/x', 400, 'bad filter'),
    new ConsulResponseTooLargeError('/v1/health/service/x', 200, 1024),
    new NoHealthyInstancesError('payments'),
    new RetriesExhaustedError('payments', 3, 'all failed'),
    new RequestTimeoutError('payments', 100, 'try'),
    new UpstreamError('payments', 'i-1', 'reset'),
    new AbortedError(),
    new InvalidStateError('attached twice'),
    new ClosedError('Discovery'),
    new TooManyServicesError('payments', 256),
    new ServiceNotAllowedError('payments'),
    new KvConfigError('app/config', 'invalid', 'refused', { path: 'limit' }),
    new LockHeldError('jobs/nightly', 'session-1'),
    new LeaseLostError('jobs/nightly', 'released', 'released by its holder'),
  ];

  it('covers every exported error class', () => {
    const exported = Object.values(api).filter(
      (value) => typeof value === 'function' && value.prototype instanceof ExpressConsulError,
    );
    expect(new Set(errors.map((error) => error.constructor))).toEqual(new Set(exported));
  });

  it.each(errors.map((error) => [error.name, error.code]))(
    '%s has a code prefixed EXPRESS_CONSUL_ (%s), never Node-like ERR_',
    (_name, code) => {
      expect(code).toMatch(/^EXPRESS_CONSUL_[A-Z_]+$/);
      expect(code.startsWith('ERR_')).toBe(false);
    },
  );

  it('are distinct per class', () => {
    expect(new Set(errors.map((error) => error.code)).size).toBe(errors.length);
  });
});
