import { once } from 'node:events';
import { createServer } from 'node:http';
import { ConfigError } from '../../src/errors';
import { startConsul } from '../../src/testing';
import { consulBinaryPath } from '../support/consul-agent';
import { waitFor } from '../support/wait-for';

describe('startConsul() in binary mode', () => {
  it('runs a dev agent on 127.0.0.1 with a leader, whose checks reach a loopback service, and stops it', async () => {
    const consul = await startConsul({ mode: 'binary', binary: consulBinaryPath() });
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
      await using consul = await startConsul({ binary: consulBinaryPath() });
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
});
