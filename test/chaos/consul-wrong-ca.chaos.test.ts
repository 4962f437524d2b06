// Scenario 11 (its TLS part): the library reaches an HTTPS-only path to its Consul agent while it
// trusts another CA. Every query fails with a typed ConsulUnavailableError that says why (the
// certificate), with no token in it, and the library never falls back to plain HTTP: a TCP front
// that reads the first byte of each connection sees only TLS handshakes (0x16), never a request
// line. Nothing is registered or called here, so there is no load and no control.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiscovery, isConsulUnavailableError } from '../../src';
import type { Discovery } from '../../src';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { createTlsFiles } from '../../src/testing/consul-process';
import { findConsulBinary } from '../../src/testing/find-consul-binary';
import { waitFor } from '../../harness/wait-for';

const TLS_HANDSHAKE = 0x16;

describe('chaos: Consul over TLS with a wrong CA', () => {
  const dirs: string[] = [];
  const sockets = new Set<Socket>();
  let agent: StartedConsul | undefined;
  let front: Server | undefined;
  let discovery: Discovery | undefined;

  afterAll(async () => {
    await discovery?.close();
    for (const socket of sockets) socket.destroy();
    if (front) await new Promise((resolve) => front!.close(resolve));
    await agent?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('fails with a typed certificate error and never sends plain HTTP', async () => {
    const serverDir = mkdtempSync(join(tmpdir(), 'chaos-tls-'));
    const otherDir = mkdtempSync(join(tmpdir(), 'chaos-tls-other-'));
    dirs.push(serverDir, otherDir);
    agent = await startConsul({
      mode: 'binary',
      tls: await createTlsFiles(findConsulBinary()!, serverDir, 'dc1'),
    });
    const wrongCa = readFileSync(
      (await createTlsFiles(findConsulBinary()!, otherDir, 'dc1')).caFile,
      'utf8',
    );
    const httpsPort = Number(new URL(agent.https!.address).port);

    const firstBytes: number[] = [];
    front = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.once('data', (chunk: Buffer) => {
        firstBytes.push(chunk[0]!);
        const upstream = createConnection(httpsPort, '127.0.0.1');
        sockets.add(upstream);
        upstream.once('close', () => sockets.delete(upstream));
        upstream.write(chunk);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      socket.on('error', () => socket.destroy());
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    const { port } = front.address() as { port: number };

    const canary = 'canary-tls-token-7f3a';
    discovery = createDiscovery({
      metrics: false,
      consul: { address: `https://127.0.0.1:${port}`, token: canary, tls: { ca: wrongCa } },
      watch: { waitMs: 1_000, backoff: { baseMs: 100, maxMs: 300 } },
    });
    const client = discovery.service('anything');
    const errors: Error[] = [];
    const unsubscribe = client.watcher.onError((event) => errors.push(event.error));
    await waitFor('three failed queries', () => (errors.length >= 3 ? true : undefined), {
      timeoutMs: 20_000,
    });
    unsubscribe();
    process.stdout.write(
      `[chaos] wrong CA: ${errors.length} errors, first: ${errors[0]!.message}; first bytes ${[...new Set(firstBytes)].map((b) => `0x${b.toString(16)}`).join(', ')}\n`,
    );

    for (const error of errors) {
      expect(isConsulUnavailableError(error)).toBe(true);
      expect(error.message).toMatch(/certificate|self[- ]signed|issuer/i);
      expect(`${error.message}\n${error.stack ?? ''}`).not.toContain(canary);
    }
    expect(client.watcher.status().ready).toBe(false);
    expect(firstBytes.length).toBeGreaterThanOrEqual(3);
    expect(firstBytes.filter((byte) => byte !== TLS_HANDSHAKE)).toEqual([]);
  }, 120_000);
});
