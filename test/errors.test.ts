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
  LeaseLostError,
} from '../src/errors';

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

describe('error brands', () => {
  type Errors = typeof import('../src/errors');
  /** A second, separately loaded copy of the module: what two installed copies of the package give. */
  function otherCopy(): Errors {
    let copy: Errors | undefined;
    jest.isolateModules(() => {
      copy = jest.requireActual<Errors>('../src/errors');
    });
    return copy as Errors;
  }
  const here = jest.requireActual<Errors>('../src/errors');
  const there = otherCopy();

  /** One instance of every error class of a copy, keyed by class name. */
  function samples(m: Errors): Record<string, Error> {
    return {
      ExpressConsulError: new m.ExpressConsulError('EXPRESS_CONSUL_CLOSED', 'x'),
      ConfigError: new m.ConfigError('service.port', 'an integer', 0),
      ConsulUnavailableError: new m.ConsulUnavailableError('/v1/agent/self', 'refused'),
      ConsulAclError: new m.ConsulAclError('/v1/agent/self', 403, 'Permission denied'),
      ConsulResponseError: new m.ConsulResponseError('/v1/x', 400, 'bad'),
      ConsulResponseTooLargeError: new m.ConsulResponseTooLargeError('/v1/x', 200, 10),
      NoHealthyInstancesError: new m.NoHealthyInstancesError('payments'),
      RetriesExhaustedError: new m.RetriesExhaustedError('payments', 3, 'all failed'),
      RequestTimeoutError: new m.RequestTimeoutError('payments', 100, 'try'),
      UpstreamError: new m.UpstreamError('payments', 'i-1', 'reset'),
      AbortedError: new m.AbortedError(),
      InvalidStateError: new m.InvalidStateError('twice'),
      ClosedError: new m.ClosedError('Discovery'),
      TooManyServicesError: new m.TooManyServicesError('payments', 2),
      ServiceNotAllowedError: new m.ServiceNotAllowedError('payments'),
      KvConfigError: new m.KvConfigError('app', 'missing', 'none'),
      LockHeldError: new m.LockHeldError('jobs', undefined),
      LeaseLostError: new m.LeaseLostError('jobs', 'closed', 'closed'),
      FilterExpressionError: new m.FilterExpressionError('a ==', 4, 'missing value'),
      DiscoveryChainError: new m.DiscoveryChainError('Chain', 'not an object'),
    };
  }
  const guardNames = Object.keys(here).filter((name) => /^is[A-Z]\w*Error$/.test(name));
  const classNames = Object.keys(samples(here));

  it('the copies are distinct: plain prototype checks fail across them', () => {
    expect(there.UpstreamError).not.toBe(here.UpstreamError);
    const foreign = samples(there).UpstreamError as Error;
    expect(Object.prototype.isPrototypeOf.call(here.UpstreamError.prototype, foreign)).toBe(false);
  });

  it('there is one guard per error class and nothing else', () => {
    expect(new Set(guardNames)).toEqual(new Set(classNames.map((name) => `is${name}`)));
  });

  it.each(classNames)(
    '%s: its guard and instanceof accept it from either copy, every other class refuses it',
    (className) => {
      for (const [made, checked] of [
        [here, there],
        [there, here],
        [here, here],
      ] as const) {
        const error = samples(made)[className];
        for (const other of classNames) {
          const guard = checked[`is${other}` as keyof Errors] as (value: unknown) => boolean;
          const type = checked[other as keyof Errors] as unknown as abstract new () => unknown;
          const expected =
            other === className ||
            other === 'ExpressConsulError' ||
            (className === 'ConsulResponseTooLargeError' && other === 'ConsulResponseError');
          expect([other, guard(error)]).toEqual([other, expected]);
          expect([other, error instanceof type]).toEqual([other, expected]);
        }
      }
    },
  );

  it('isExpressConsulError with a code checks the code across copies', () => {
    const error = samples(there).ClosedError;
    expect(here.isExpressConsulError(error, 'EXPRESS_CONSUL_CLOSED')).toBe(true);
    expect(here.isExpressConsulError(error, 'EXPRESS_CONSUL_ABORTED')).toBe(false);
  });

  it('refuses foreign objects: a wrong brand value, another class brand, a look-alike, no object', () => {
    const brand = Symbol.for('express-consul.error.UpstreamError');
    const wrongValue = { [brand]: 'yes', code: 'EXPRESS_CONSUL_UPSTREAM' };
    const otherBrand = { [Symbol.for('express-consul.error.ConfigError')]: true };
    const lookAlike = Object.assign(new Error('x'), {
      name: 'UpstreamError',
      code: 'EXPRESS_CONSUL_UPSTREAM',
    });
    for (const value of [wrongValue, otherBrand, lookAlike, null, undefined, 'UpstreamError', 1]) {
      expect(here.isUpstreamError(value)).toBe(false);
      expect(value instanceof here.UpstreamError).toBe(false);
    }
    expect(here.isExpressConsulError(lookAlike)).toBe(false);
  });

  it('brands stay out of logs and JSON: not enumerable, not writable', () => {
    const error = samples(here).UpstreamError as Error;
    expect(JSON.stringify({ ...error })).not.toContain('express-consul');
    expect(Object.getOwnPropertySymbols({ ...error })).toEqual([]);
    const descriptor = Object.getOwnPropertyDescriptor(
      error,
      Symbol.for('express-consul.error.UpstreamError'),
    );
    expect(descriptor).toMatchObject({ value: true, enumerable: false, writable: false });
  });

  it('a subclass declared by an app keeps the usual instanceof', () => {
    class AppError extends here.UpstreamError {}
    const own = new AppError('payments', 'i-1', 'reset');
    expect(own instanceof AppError).toBe(true);
    expect(own instanceof here.UpstreamError).toBe(true);
    expect(samples(here).UpstreamError instanceof AppError).toBe(false);
  });
});
