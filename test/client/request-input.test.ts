// Caller input of a service call (URLs, paths, headers, limits): often from the app's own callers,
// so untrusted. Every bad value is a ConfigError naming the field, before anything is sent, and
// without the secrets it may carry.
import { ConfigError } from '../../src/errors';
import { entry, fixedDiscovery, stopAll, upstream, type Upstream } from './fixed-discovery';

afterEach(stopAll);

async function setup(): Promise<{ up: Upstream; d: ReturnType<typeof fixedDiscovery> }> {
  const up = await upstream();
  const d = fixedDiscovery({ pay: [entry('pay', 'p1', up.port)] });
  return { up, d };
}

async function configErrorOf(call: () => Promise<unknown>): Promise<ConfigError> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('request(): caller input', () => {
  it.each([
    ['an absolute URL as path', { path: 'http://evil.example/steal' }, 'request.path'],
    ['a path without a leading slash', { path: 'steal' }, 'request.path'],
    ['a path with a space', { path: '/a b' }, 'request.path'],
    ['a path with CR/LF', { path: '/a\r\nHost: evil' }, 'request.path'],
    ['a host header', { headers: { host: 'evil.example' } }, 'request.headers.host'],
    ['a Host header', { headers: { Host: 'evil.example' } }, 'request.headers.Host'],
    [
      'a transfer-encoding header',
      { headers: { 'transfer-encoding': 'chunked' } },
      'request.headers.transfer-encoding',
    ],
    ['CRLF in a header value', { headers: { 'x-a': 'v\r\nx-b: y' } }, 'request.headers.x-a'],
    ['a header name that is not a token', { headers: { 'x a': 'v' } }, 'request.headers'],
    ['a method that is not a token', { method: 'GET /x HTTP/1.1\r\n' }, 'request.method'],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }, 'request.timeoutMs'],
    ['timeoutMs -5', { timeoutMs: -5 }, 'request.timeoutMs'],
    ['deadlineMs 0', { deadlineMs: 0 }, 'request.deadlineMs'],
    ['deadlineMs beyond a timer', { deadlineMs: 2 ** 40 }, 'request.deadlineMs'],
    ['a non-boolean retryable', { retryable: 'yes' }, 'request.retryable'],
    ['CRLF in an idempotency key', { idempotencyKey: 'k\r\nx: y' }, 'request.idempotencyKey'],
  ])('refuses %s naming %s, and sends nothing', async (_what, bad, field) => {
    const { up, d } = await setup();
    const error = await configErrorOf(() => d.service('pay').request(bad as never));
    expect(error.path).toBe(field);
    expect(up.received).toBe(0);
  });

  it('never shows a header value, an idempotency key or a query string', async () => {
    const { d } = await setup();
    const pay = d.service('pay');
    for (const bad of [
      { headers: { authorization: 'Bearer s3cret\r\n' } },
      { idempotencyKey: 's3cret\n' },
      { path: 'x?token=s3cret' },
    ]) {
      const error = await configErrorOf(() => pay.request(bad));
      expect(error.message).not.toContain('s3cret');
    }
  });

  it('sends good input unchanged', async () => {
    const { up, d } = await setup();
    let seen: { url?: string | undefined; method?: string | undefined; idem?: unknown } = {};
    up.handler = (request, response) => {
      seen = {
        url: request.url,
        method: request.method,
        idem: request.headers['idempotency-key'],
      };
      response.end('ok');
    };
    const response = await d.service('pay').request({
      method: 'patch',
      path: '/a/b%20c?x=1&y=%E2%98%83',
      headers: { 'x-trace': 'abc\tdef', 'x-list': ['1', '2'] },
      idempotencyKey: 'k-1',
      timeoutMs: 500,
      deadlineMs: 1000,
    });
    await response.body.dump();
    expect(seen).toEqual({ url: '/a/b%20c?x=1&y=%E2%98%83', method: 'PATCH', idem: 'k-1' });
  });
});

describe('fetch(): caller input', () => {
  it.each([
    ['credentials in the URL', 'http://user:pa55@pay/x', 'url'],
    ['another scheme', 'https://pay/x', 'url'],
    ['a port', 'http://pay:8080/x', 'url'],
    ['not a URL', 'pay/x', 'url'],
  ])('refuses %s naming the field', async (_what, url, field) => {
    const { up, d } = await setup();
    const error = await configErrorOf(() => d.fetch(url));
    expect(error.path).toBe(field);
    expect(error.message).not.toContain('pa55');
    expect(up.received).toBe(0);
  });

  it('never shows the query string of a rejected URL', async () => {
    const { d } = await setup();
    const error = await configErrorOf(() => d.fetch('https://pay/x?api_key=s3cret'));
    expect(error.message).not.toContain('s3cret');
    expect(error.message).toContain('https://pay/x');
  });

  it.each([
    ['CRLF in a header', { headers: { 'x-a': 'v\r\nx-b: y' } }, 'init.headers'],
    ['a host header', { headers: { host: 'evil.example' } }, 'init.headers.host'],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }, 'init.timeoutMs'],
    ['a body of the wrong kind', { method: 'POST', body: 42 }, 'init.body'],
    ['a method with a space', { method: 'GE T' }, 'init.method'],
  ])('refuses %s naming %s, and sends nothing', async (_what, init, field) => {
    const { up, d } = await setup();
    const error = await configErrorOf(() => d.fetch('http://pay/x', init as never));
    expect(error.path).toBe(field);
    expect(error.message).not.toContain('\r');
    expect(up.received).toBe(0);
  });
});
