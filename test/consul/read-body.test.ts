// readBody over real sockets: a loopback HTTP server streams bodies of every kind; the reader
// must stop at the cap, not after buffering it all.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { request } from 'undici';
import { ConsulResponseError, ConsulResponseTooLargeError } from '../../src/errors';
import { readBody } from '../../src/consul/read-body';
import { waitFor } from '../../harness/wait-for';

const MIB = 1024 * 1024;

describe('readBody', () => {
  let server: Server;
  let origin: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;

  beforeAll(async () => {
    server = createServer((req, res) => handler(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('returns a body up to the cap as UTF-8 text, the cap included', async () => {
    const text = `${'é'.repeat(500)}x`; // 1001 bytes
    handler = (_req, res) => res.end(text);
    expect(await readBody(await request(origin), 1001, 'GET /x')).toBe(text);
    const error = await readBody(await request(origin), 1000, 'GET /x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsulResponseTooLargeError);
    expect(error).toBeInstanceOf(ConsulResponseError);
    expect(error).toMatchObject({
      code: 'EXPRESS_CONSUL_RESPONSE_TOO_LARGE',
      endpoint: 'GET /x',
      status: 200,
      limitBytes: 1000,
    });
    expect((error as Error).message).toContain('maxResponseBytes');
  });

  it('stops reading a chunked body as soon as it passes the cap', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const maxChunks = 2_048; // 128 MiB if nothing stopped it
    let written = 0;
    let closed = false;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = (): void => {
        while (written < maxChunks * chunk.length && !closed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (closed = true));
      pump();
    };
    const error = await readBody(await request(origin), MIB, 'GET /big').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConsulResponseTooLargeError);
    await waitFor('the server to see the connection dropped', () => (closed ? true : undefined));
    // Socket buffers on both sides hold a few MiB at most; the whole body is 128 MiB.
    expect(written).toBeLessThan(32 * MIB);
  });

  it('fails on a declared content-length above the cap before reading a byte', async () => {
    let closed = false;
    handler = (_req, res) => {
      res.on('close', () => (closed = true));
      res.writeHead(200, { 'content-length': String(100 * MIB) });
      // Only the first byte: a reader waiting for the body would wait forever.
      res.write('[');
    };
    const error = await readBody(await request(origin), MIB, 'GET /declared').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConsulResponseTooLargeError);
    await waitFor('the server to see the connection dropped', () => (closed ? true : undefined));
  });
});
