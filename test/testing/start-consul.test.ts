import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { createServer } from 'node:http';
import { ConfigError } from '../../src/errors';
import { startConsul } from '../../src/testing';
import { findConsulBinary } from '../../src/testing/find-consul-binary';
import { waitFor } from '../../harness/wait-for';

describe('startConsul() in binary mode', () => {
  it('runs a dev agent on 127.0.0.1 with a leader, whose checks reach a loopback service, and stops it', async () => {
    const consul = await startConsul({ mode: 'binary', binary: findConsulBinary()! });
    expect(consul.mode).toBe('binary');
    expect(consul.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const leader = (await (await fetch(`${consul.address}/v1/status/leader`)).json()) as string;
    expect(leader).toMatch(/^127\.0\.0\.1:\d+$/);

    // The point of a test agent: Consul's HTTP check reaches a service listening on loopback.
    const server = createServer((_request, response) => response.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    try {
      await fetch(`${consul.address}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify({
          Name: 'start-consul-probe',
          Address: '127.0.0.1',
          Port: port,
          Check: { HTTP: `http://127.0.0.1:${port}/`, Interval: '1s' },
        }),
      });
      await waitFor(
        'a passing check',
        async () => {
          const checks = (await (
            await fetch(`${consul.address}/v1/health/checks/start-consul-probe`)
          ).json()) as { Status: string }[];
          return checks[0]?.Status === 'passing' ? true : undefined;
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      server.close();
    }

    await consul.stop();
    await consul[Symbol.asyncDispose](); // idempotent
    await expect(fetch(`${consul.address}/v1/status/leader`)).rejects.toThrow();
  });

  it('follows EXPRESS_CONSUL_TEST_CONSUL and rejects a mode it does not know', async () => {
    const previous = process.env.EXPRESS_CONSUL_TEST_CONSUL;
    try {
      process.env.EXPRESS_CONSUL_TEST_CONSUL = 'binary';
      await using consul = await startConsul({ binary: findConsulBinary()! });
      expect(consul.mode).toBe('binary');

      process.env.EXPRESS_CONSUL_TEST_CONSUL = 'vm';
      await expect(startConsul()).rejects.toThrow(ConfigError);
      await expect(startConsul()).rejects.toThrow(
        /EXPRESS_CONSUL_TEST_CONSUL: must be 'binary' or 'container' \(got "vm"\)/,
      );
    } finally {
      if (previous === undefined) delete process.env.EXPRESS_CONSUL_TEST_CONSUL;
      else process.env.EXPRESS_CONSUL_TEST_CONSUL = previous;
    }
    await expect(startConsul({ mode: 'podman' as 'binary' })).rejects.toThrow(
      /Invalid option mode/,
    );
    await expect(startConsul({ startupTimeoutMs: 0 })).rejects.toThrow(
      /Invalid option startupTimeoutMs/,
    );
  });

  it('an agent that exits at start-up fails the start, and its leader polls stop with it', async () => {
    // The polls go through the global fetch: counted, to see that they stop.
    const polls = jest.spyOn(globalThis, 'fetch');
    try {
      await expect(
        startConsul({ mode: 'binary', binary: '/bin/false', startupTimeoutMs: 20_000 }),
      ).rejects.toThrow(/consul agent exited during start-up \(code 1\)/);
      // Left running, a poll every 100 ms held the caller's process until the start-up timeout.
      // Watched for ten of their intervals: the absence of an event needs a window to be seen.
      const pollsAtFailure = polls.mock.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(polls.mock.calls.length).toBe(pollsAtFailure);
    } finally {
      polls.mockRestore();
    }
  });

  it('names what is missing when binary mode finds no consul', async () => {
    const saved = {
      PATH: process.env.PATH,
      CONSUL_BIN: process.env.CONSUL_BIN,
      EXPRESS_CONSUL_CACHE: process.env.EXPRESS_CONSUL_CACHE,
    };
    try {
      process.env.PATH = '/nonexistent';
      delete process.env.CONSUL_BIN;
      process.env.EXPRESS_CONSUL_CACHE = '/nonexistent';
      await expect(startConsul({ mode: 'binary' })).rejects.toThrow(
        /Invalid option mode: must be 'container', or 'binary' with CONSUL_BIN/,
      );
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('runs a production-shaped agent: another datacenter, ACLs that deny, HTTPS with its own CA', async () => {
    const managementToken = 'b1c0ffee-0000-4000-8000-000000000001';
    await using consul = await startConsul({
      mode: 'binary',
      datacenter: 'east-2',
      acl: { managementToken },
      tls: true,
    });
    expect(consul.datacenter).toBe('east-2');
    // default_policy deny: without the token the agent refuses; with it, it says who it is.
    expect((await fetch(`${consul.address}/v1/agent/self`)).status).toBe(403);
    const self = (await (
      await fetch(`${consul.address}/v1/agent/self`, {
        headers: { 'x-consul-token': managementToken },
      })
    ).json()) as { Config: { Datacenter: string; NodeName: string } };
    expect(self.Config).toMatchObject({ Datacenter: 'east-2', NodeName: consul.nodeName });
    // HTTPS verified against the CA startConsul made, and only that CA.
    const https = consul.https!;
    expect(https.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const trusted = new Agent({ connect: { ca: readFileSync(https.caFile) } });
    try {
      const leader = await request(`${https.address}/v1/status/leader`, { dispatcher: trusted });
      expect(leader.statusCode).toBe(200);
      await leader.body.text();
      await expect(request(`${https.address}/v1/status/leader`)).rejects.toThrow(
        /self-signed|unable to verify|certificate/i,
      );
    } finally {
      await trusted.close();
    }
    await consul.stop();
    expect(existsSync(https.caFile)).toBe(false);
  });

  it('joins two datacenters over the WAN', async () => {
    await using dc1 = await startConsul({ mode: 'binary', datacenter: 'dc1' });
    await using dc2 = await startConsul({
      mode: 'binary',
      datacenter: 'dc2',
      retryJoinWan: [dc1.serfWanAddress!],
    });
    const seen = await waitFor(
      'dc1 to know dc2',
      async () => {
        const names = (await (
          await fetch(`${dc1.address}/v1/catalog/datacenters`)
        ).json()) as string[];
        return names.includes('dc2') ? names : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect([...seen].sort()).toEqual(['dc1', 'dc2']);
    expect(dc2.datacenter).toBe('dc2');
  });

  it('kill() then restart(): the same address, every registration forgotten', async () => {
    await using consul = await startConsul({ mode: 'binary' });
    const register = await fetch(`${consul.address}/v1/agent/service/register`, {
      method: 'PUT',
      body: JSON.stringify({ Name: 'forgotten', Port: 1 }),
    });
    expect(register.status).toBe(200);
    const pid = consul.pid;
    await consul.kill('SIGTERM');
    expect(consul.pid).toBeUndefined();
    await expect(fetch(`${consul.address}/v1/status/leader`)).rejects.toThrow();
    await consul.restart();
    expect(consul.pid).not.toBe(pid);
    const services = (await (await fetch(`${consul.address}/v1/agent/services`)).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(services)).toEqual([]);
  });

  it('refuses options it cannot honour, naming them', async () => {
    await expect(startConsul({ mode: 'binary', datacenter: 'dc 1' })).rejects.toThrow(
      /Invalid option datacenter: must be letters, digits, '-' and '_'/,
    );
    await expect(startConsul({ mode: 'container', acl: { managementToken: 'x' } })).rejects.toThrow(
      /Invalid option acl: must be an option of mode 'binary' only/,
    );
    await expect(
      startConsul({ mode: 'binary', acl: { managementToken: 'has space' } }),
    ).rejects.toThrow(/Invalid option acl\.managementToken/);
    await expect(
      startConsul({ mode: 'binary', tls: { caFile: 'a.pem', certFile: 'b.pem' } as never }),
    ).rejects.toThrow(/Invalid option tls\.keyFile/);
    await expect(startConsul({ mode: 'binary', retryJoinWan: ['10.0.0.1:8302'] })).rejects.toThrow(
      /Invalid option retryJoinWan/,
    );
    await expect(startConsul({ mode: 'binary', datacentre: 'dc1' } as never)).rejects.toThrow(
      ConfigError,
    );
  });
});
