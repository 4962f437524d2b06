import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { expressConsul } from '../../src';
import { ConsulClient } from '../../src/consul/consul-client';
import { resolveConsulConnection } from '../../src/consul/consul-environment';
import { ConsulUnavailableError } from '../../src/errors';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { createTlsFiles } from '../../src/testing/consul-process';
import { findConsulBinary } from '../../src/testing/find-consul-binary';
import { expectRegistersAndCloses } from '../support/consul-reads';

describe('TLS to Consul with Consul CLI conventions', () => {
  let dir: string;
  let files: Awaited<ReturnType<typeof createTlsFiles>>;
  let agent: StartedConsul;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'express-consul-tls-'));
    files = await createTlsFiles(findConsulBinary()!, dir, 'dc1');
    agent = await startConsul({ mode: 'binary', tls: files });
  });
  afterAll(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const hostPort = (): string => agent.https!.address.replace('https://', '');

  it('verifies the agent with CONSUL_CACERT when CONSUL_HTTP_SSL=true', async () => {
    const client = new ConsulClient(
      resolveConsulConnection(
        {},
        { CONSUL_HTTP_ADDR: hostPort(), CONSUL_HTTP_SSL: 'true', CONSUL_CACERT: files.caFile },
      ),
    );
    try {
      expect(client.origin).toBe(agent.https!.address);
      expect(await client.statusLeader()).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await client.close();
    }
  });

  it('refuses an agent whose certificate it cannot verify', async () => {
    const client = new ConsulClient(
      resolveConsulConnection({}, { CONSUL_HTTP_ADDR: agent.https!.address }),
    );
    try {
      const error = await client.statusLeader().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConsulUnavailableError);
      expect((error as Error).message).toMatch(/certificate/i);
    } finally {
      await client.close();
    }
  });

  it('skips verification only when CONSUL_HTTP_SSL_VERIFY=false says so', async () => {
    const client = new ConsulClient(
      resolveConsulConnection(
        {},
        { CONSUL_HTTP_ADDR: agent.https!.address, CONSUL_HTTP_SSL_VERIFY: 'false' },
      ),
    );
    try {
      expect(await client.statusLeader()).not.toBe('');
    } finally {
      await client.close();
    }
  });

  it('registers a service over HTTPS with the CA given as an option', async () => {
    const adapter = expressConsul(express(), {
      service: { name: 'secure-service' },
      consul: {
        address: agent.https!.address,
        tls: { caFile: files.caFile, serverName: 'localhost' },
      },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });
    const reader = new ConsulClient({ address: agent.address });
    await expectRegistersAndCloses(adapter, reader);
  });
});
