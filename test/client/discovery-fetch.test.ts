import { ConfigError } from '../../src/errors';
import { toServiceRequest } from '../../src/client/discovery-fetch';

describe('toServiceRequest', () => {
  it('takes the host as the service name and keeps path and query', () => {
    const { service, request } = toServiceRequest('http://payments/charge?amount=3', {
      method: 'POST',
      headers: { 'X-Trace': 'abc' },
      body: 'hello',
      idempotencyKey: 'k1',
    });
    expect(service).toBe('payments');
    expect(request).toMatchObject({
      method: 'POST',
      path: '/charge?amount=3',
      body: 'hello',
      idempotencyKey: 'k1',
    });
    expect(request.headers).toEqual({ 'x-trace': 'abc' });
  });

  it('encodes URLSearchParams bodies as a form', () => {
    const { request } = toServiceRequest('http://payments/', {
      method: 'POST',
      body: new URLSearchParams({ a: '1' }),
    });
    expect(request.body).toBe('a=1');
    expect(request.headers?.['content-type']).toContain('application/x-www-form-urlencoded');
  });

  it.each([
    ['not a URL', 'payments/charge'],
    ['https', 'https://payments/'],
    ['a port', 'http://payments:8080/'],
  ])('rejects %s with a ConfigError', (_what, url) => {
    expect(() => toServiceRequest(url)).toThrow(ConfigError);
  });
});
