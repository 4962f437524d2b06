import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';
import { runCli } from './run-cli';

// `express-consul status URL` on a real service's `consul.statusHandler()` whose upstream has
// traffic-management entries in the run's real Consul agent: the chain the caller routes by, and
// a target failing over once its instances turn critical in Consul.
// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

async function consulCall(method: string, path: string, body?: unknown): Promise<string> {
  const response = await fetch(`${process.env.CONSUL_HTTP_ADDR}${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text;
}

describe('express-consul status URL shows the chain a real caller routes by', () => {
  const web = uniqueService('status-chain-web');
  const v1 = `v1.${web}.default.default.dc1`;
  const v2 = `v2.${web}.default.default.dc1`;
  const servers: Server[] = [];
  const registered: string[] = [];
  const entries: [string, string][] = [
    ['service-splitter', web],
    ['service-resolver', web],
    ['service-defaults', web],
  ];
  let caller: ExpressConsul;
  let base: string;

  beforeAll(async () => {
    for (const version of ['1', '2']) {
      const server = createServer((_request, response) => response.end(version));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      const id = `${web}-v${version}`;
      await consulCall('PUT', '/v1/agent/service/register', {
        Name: web,
        ID: id,
        Address: '127.0.0.1',
        Port: (server.address() as AddressInfo).port,
        Meta: { version },
        Check: { CheckID: `check-${id}`, TTL: '600s', Status: 'passing' },
      });
      registered.push(id);
    }
    await consulCall('PUT', '/v1/config', {
      Kind: 'service-defaults',
      Name: web,
      Protocol: 'http',
    });
    await consulCall('PUT', '/v1/config', {
      Kind: 'service-resolver',
      Name: web,
      DefaultSubset: 'v1',
      Subsets: {
        v1: { Filter: 'Service.Meta.version == "1"' },
        v2: { Filter: 'Service.Meta.version == "2"' },
      },
      Failover: { v1: { Targets: [{ ServiceSubset: 'v2' }] } },
    });
    await consulCall('PUT', '/v1/config', {
      Kind: 'service-splitter',
      Name: web,
      Splits: [
        { Weight: 80, ServiceSubset: 'v1' },
        { Weight: 20, ServiceSubset: 'v2' },
      ],
    });
    const app = express();
    caller = expressConsul(app, {
      service: { name: uniqueService('status-chain-caller'), check: { intervalMs: 1_000 } },
      discovery: { trafficManagement: true },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });
    app.get('/admin/consul', caller.statusHandler());
    const server = await caller.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answer = await caller.fetch(`http://${web}/`);
    expect(answer.status).toBe(200);
    await answer.text();
  });

  afterAll(async () => {
    await caller?.close();
    for (const [kind, name] of entries) await consulCall('DELETE', `/v1/config/${kind}/${name}`);
    for (const id of registered) await consulCall('PUT', `/v1/agent/service/deregister/${id}`);
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('prints the splits and each target, then the v1 target failing over to v2', async () => {
    const result = await runCli(['status', `${base}/admin/consul`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}chain index \d+ {2}current$/m);
    expect(result.stdout).toContain(
      `  split 80%  -> resolver:${v1}\n  split 20%  -> resolver:${v2}`,
    );
    expect(result.stdout).toMatch(new RegExp(`^ {2}${v1.replace(/\./g, '\\.')}\\s+1\\s+-$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^ {2}${v2.replace(/\./g, '\\.')}\\s+1\\s+-$`, 'm'));

    await consulCall('PUT', `/v1/agent/check/fail/check-${web}-v1`);
    try {
      await waitFor('the caller sees v1 without instances', () => {
        const traffic = caller.status().upstreams.find((u) => u.service === web)?.traffic;
        return traffic?.targets.find((t) => t.id === v1)?.instances === 0 ? true : undefined;
      });
      const after = await runCli(['status', `${base}/admin/consul`]);
      expect(after.code).toBe(0);
      expect(after.stdout).toMatch(
        new RegExp(`^ {2}${v1.replace(/\./g, '\\.')}\\s+0\\s+${v2.replace(/\./g, '\\.')}$`, 'm'),
      );
    } finally {
      await consulCall('PUT', `/v1/agent/check/pass/check-${web}-v1`);
    }
  });
});
