import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { expectOneLineError, runCli } from './run-cli';

const MANAGEMENT_TOKEN = '5eed0000-aaaa-4bbb-8ccc-ddddeeeeffff';

// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

// An agent with ACLs on and default deny, as production clusters run: Consul answers reads without
// a token with filtered (empty) lists rather than 403, and an unknown token with 403.
describe('express-consul against an ACL agent (default deny)', () => {
  let agent: StartedConsul;

  beforeAll(async () => {
    agent = await startConsul({ mode: 'binary', acl: { managementToken: MANAGEMENT_TOKEN } });
  });
  afterAll(async () => {
    await agent.stop();
  });

  const env = (token: string | undefined) => ({
    CONSUL_HTTP_ADDR: agent.address,
    CONSUL_HTTP_TOKEN: token,
    CONSUL_HTTP_TOKEN_FILE: undefined,
  });

  it('exits 3 without a token, and says to set CONSUL_HTTP_TOKEN', async () => {
    const results = await Promise.all(
      [['services'], ['instances', 'consul'], ['watch', 'consul']].map((args) =>
        runCli(args, env(undefined)),
      ),
    );
    for (const result of results) {
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expectOneLineError(result, /ACLs hide them and no token was given \(set CONSUL_HTTP_TOKEN/);
    }
  });

  it('exits 3 with a token Consul does not know, without printing it', async () => {
    const unknown = '0badf00d-0000-4000-8000-000000000000';
    const results = await Promise.all(
      [['services'], ['instances', 'consul']].map((args) => runCli(args, env(unknown))),
    );
    for (const result of results) {
      expect(result.code).toBe(3);
      expectOneLineError(result, /ACL denied \(403\)/);
      expect(result.stderr + result.stdout).not.toContain(unknown);
    }
  });

  it('chain: exits 3 without a token or with an unknown one; reads with a good one', async () => {
    const unknown = '0badf00d-0000-4000-8000-000000000000';
    const [none, bad, good] = await Promise.all([
      runCli(['chain', 'consul'], env(undefined)),
      runCli(['chain', 'consul'], env(unknown)),
      runCli(['chain', 'consul', '--json'], env(MANAGEMENT_TOKEN)),
    ]);
    for (const result of [none, bad]) {
      expect(result.code).toBe(3);
      expect(result.stdout).toBe('');
      expectOneLineError(result, /403.*set CONSUL_HTTP_TOKEN/);
    }
    expect(bad.stderr).not.toContain(unknown);
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({
      service: 'consul',
      isDefault: true,
      targets: [expect.objectContaining({ service: 'consul', healthy: 1, total: 1 })],
    });
    expect(good.stdout + good.stderr).not.toContain(MANAGEMENT_TOKEN);
  });

  it('reads through the token from CONSUL_HTTP_TOKEN, and never prints it', async () => {
    const [services, instances] = await Promise.all([
      runCli(['services', '--json'], env(MANAGEMENT_TOKEN)),
      runCli(['instances', 'consul'], env(MANAGEMENT_TOKEN)),
    ]);
    expect(services.code).toBe(0);
    expect(JSON.parse(services.stdout)).toEqual([
      { name: 'consul', tags: [], instances: 1, passing: 1, warning: 0, critical: 0 },
    ]);
    expect(instances.code).toBe(0);
    expect(instances.stdout).toMatch(
      new RegExp(`^${agent.nodeName}/consul\\s+127\\.0\\.0\\.1:\\d+\\s+passing`, 'm'),
    );
    for (const result of [services, instances])
      expect(result.stdout + result.stderr).not.toContain(MANAGEMENT_TOKEN);
  });
});
