// Registrations are data anyone with service:write on some name can write: instance ids with
// characters no header may carry, statuses no Response accepts, a missing `scheme=https` meta.
// None of them may turn a delivered request into a raw TypeError/RangeError, nor downgrade TLS.
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  ConfigError,
  RetriesExhaustedError,
  UpstreamError,
  type ExpressConsulError,
} from '../../src/errors';
import { instanceIdentity } from '../../src/watch/service-instance';
import { selfSignedCert, type SelfSignedCert } from '../support/self-signed-cert';
import { entry, fixedDiscovery, stopAll, upstream } from './fixed-discovery';

afterEach(stopAll);

describe('fetch(): instance ids Consul accepts but a header cannot carry', () => {
  it.each(['pay☃', 'pay\r\nset-cookie: x=1', 'pay\u0000'])(
    'delivers a POST once to instance %j and answers with a percent-encoded x-served-by',
    async (id) => {
      const up = await upstream((_q, r) => r.end('charged'));
      const d = fixedDiscovery({ pay: [entry('pay', id, up.port)] });
      const response = await d.fetch('http://pay/charge', { method: 'POST', body: 'x' });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('charged');
      // The identity itself escapes what a header cannot carry; the header shows it as it is.
      const served = response.headers.get('x-served-by');
      expect(served).toBe(instanceIdentity('node-1', id));
      expect(served).toMatch(/^[\x21-\x7e]+$/);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(up.received).toBe(1);
    },
  );

  it('keeps a plain id as it is', async () => {
    const up = await upstream();
    const d = fixedDiscovery({ pay: [entry('pay', 'pay-1', up.port)] });
    const response = await d.fetch('http://pay/');
    await response.text();
    expect(response.headers.get('x-served-by')).toBe('node-1/pay-1');
  });
});

describe('a status outside 200-599', () => {
  it.each([600, 999])(
    'is an UpstreamError saying the POST may have been processed (status %d)',
    async (status) => {
      const up = await upstream((_q, r) => {
        r.writeHead(status);
        r.end('odd');
      });
      const d = fixedDiscovery({ pay: [entry('pay', 'p1', up.port)] });
      const fetched = await d.fetch('http://pay/charge', { method: 'POST', body: 'x' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(fetched).toBeInstanceOf(UpstreamError);
      expect(fetched).toMatchObject({
        code: 'EXPRESS_CONSUL_UPSTREAM',
        mayHaveBeenProcessed: true,
        instance: 'node-1/p1',
      });
      const requested = await d
        .service('pay')
        .request({ method: 'POST', body: 'x' })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(requested).toBeInstanceOf(UpstreamError);
      expect(up.received).toBe(2);
    },
  );
});

describe('mayHaveBeenProcessed', () => {
  it('is false when no connection could be made', async () => {
    const port = await closedPort();
    const d = fixedDiscovery(
      { pay: [entry('pay', 'p1', port)] },
      { client: { retryBackoff: { baseMs: 0 }, outlierDetection: false } },
    );
    const error = (await d
      .service('pay')
      .request({ method: 'POST', body: 'x' })
      .catch((e: unknown) => e)) as ExpressConsulError;
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect((error as RetriesExhaustedError).mayHaveBeenProcessed).toBe(false);
  });

  it('is true after a reset of a request the upstream read', async () => {
    const up = await upstream((request) => request.socket.destroy());
    const d = fixedDiscovery({ pay: [entry('pay', 'p1', up.port)] });
    const error = await d
      .service('pay')
      .request({ method: 'POST', body: 'x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).mayHaveBeenProcessed).toBe(true);
    expect(up.received).toBe(1);
  });
});

describe('configured TLS is never downgraded by a registration', () => {
  let cert: SelfSignedCert;
  beforeAll(() => {
    cert = selfSignedCert();
  });
  afterAll(() => cert.remove());

  it('calls over https when tls is set, even without scheme=https meta: no token in plain text', async () => {
    const seen: (string | undefined)[] = [];
    const plain = await upstream((request, response) => {
      seen.push(request.headers.authorization);
      response.end('plain');
    });
    const d = fixedDiscovery(
      { pay: [entry('pay', 'p1', plain.port)] },
      { client: { tls: { ca: cert.cert }, maxAttempts: 1 } },
    );
    const error = await d
      .service('pay')
      .request({ headers: { authorization: 'Bearer s3cret' } })
      .catch((e: unknown) => e);
    // A TLS handshake against a plain server fails; nothing was sent in clear text.
    expect(error).toBeInstanceOf(UpstreamError);
    expect(seen).toEqual([]);
    expect(plain.received).toBe(0);
  });

  it("refuses scheme: 'http' together with tls, naming the field", () => {
    expect(() =>
      fixedDiscovery({}, { client: { scheme: 'http', tls: { ca: cert.cert } } }),
    ).toThrow(ConfigError);
    expect(() =>
      fixedDiscovery({}, { client: { scheme: 'http', tls: { ca: cert.cert } } }),
    ).toThrow(/client\.scheme/);
  });
});

async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
