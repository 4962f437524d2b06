import { ConsulClient } from '../../src/consul/consul-client';
import { freePort } from '../../harness/free-port';
import { startInstance, uniqueService } from '../support/test-instance';
import type { TestInstance } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';
import { expectOneLineError, runCli, startCli } from './run-cli';

// `services`, `instances` and `watch` as a user runs them: the CLI in its own process, reading
// the run's real Consul agent through CONSUL_HTTP_ADDR.
// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

describe('express-consul services / instances / watch against a real agent', () => {
  const consul = new ConsulClient();
  const service = uniqueService('cli');
  let blue: TestInstance;
  let green: TestInstance;
  let node: string;

  beforeAll(async () => {
    blue = await startInstance(service, { tags: ['blue'], weights: { passing: 7, warning: 2 } });
    green = await startInstance(service, { tags: ['green'] });
    const entries = await waitFor(`both ${service} instances passing`, async () => {
      const { data } = await consul.healthService(service, { passingOnly: true });
      return data.length === 2 ? data : undefined;
    });
    node = entries[0]!.Node.Node;
    // A maintenance check makes green critical for every command below.
    await consul.setServiceMaintenance(green.id, true, 'cli test');
  });
  afterAll(async () => {
    await blue.close();
    await green.close();
    await consul.close();
  });

  it('instances NAME prints each instance: node/id, address:port, health, weight, tags', async () => {
    const result = await runCli(['instances', service]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^INSTANCE \(NODE\/ID\)\s+ADDRESS\s+HEALTH\s+WEIGHT\s+TAGS$/);
    expect(lines).toHaveLength(3);
    const row = (id: string) => lines.find((line) => line.startsWith(`${node}/${id} `));
    expect(row(blue.id)).toMatch(
      new RegExp(`^${node}/${blue.id}\\s+127\\.0\\.0\\.1:${blue.port}\\s+passing\\s+7\\s+blue$`),
    );
    expect(row(green.id)).toMatch(
      new RegExp(
        `^${node}/${green.id}\\s+127\\.0\\.0\\.1:${green.port}\\s+critical\\s+1\\s+green$`,
      ),
    );
  });

  it('instances NAME --json prints the same as one JSON array', async () => {
    const result = await runCli(['instances', service, '--json']);
    expect(result.code).toBe(0);
    const instances = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(instances).toHaveLength(2);
    expect(instances.find((i) => i.serviceId === blue.id)).toMatchObject({
      id: `${node}/${blue.id}`,
      node,
      address: '127.0.0.1',
      port: blue.port,
      health: 'passing',
      weight: 7,
      tags: ['blue'],
    });
    expect(instances.find((i) => i.serviceId === green.id)).toMatchObject({
      health: 'critical',
      tags: ['green'],
    });
  });

  it('services counts instances by health, in text and in JSON', async () => {
    const [text, json] = await Promise.all([runCli(['services']), runCli(['services', '--json'])]);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(
      /^SERVICE\s+INSTANCES\s+PASSING\s+WARNING\s+CRITICAL\s+TAGS$/,
    );
    expect(text.stdout).toMatch(
      new RegExp(`^${service}\\s+2\\s+1\\s+0\\s+1\\s+(blue,green|green,blue)$`, 'm'),
    );
    expect(text.stdout).toMatch(/^consul\s+1\s+1\s+0\s+0$/m);

    expect(json.code).toBe(0);
    const services = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(services.find((s) => s.name === service)).toEqual({
      name: service,
      tags: expect.arrayContaining(['blue', 'green']),
      instances: 2,
      passing: 1,
      warning: 0,
      critical: 1,
    });
  });

  it('exits 4 with one line on stderr for a service nobody registered', async () => {
    const results = await Promise.all(
      ['instances', 'watch'].map((command) => runCli([command, `${service}-nobody`])),
    );
    for (const result of results) {
      expect(result.code).toBe(4);
      expect(result.stdout).toBe('');
      expectOneLineError(result, new RegExp(`no instances of service '${service}-nobody'`));
    }
  });

  it('exits 2 when Consul cannot be reached, for every Consul command', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const results = await Promise.all(
      [['services'], ['instances', service], ['watch', service]].map((args) =>
        runCli(args, { CONSUL_HTTP_ADDR: closed }),
      ),
    );
    for (const result of results) {
      expect(result.code).toBe(2);
      expectOneLineError(result, /ECONNREFUSED/);
    }
  });

  it('watch NAME prints a line per change until Ctrl-C, then exits 0', async () => {
    const watch = startCli(['watch', service]);
    // Green is in maintenance (critical): the first line lists blue only.
    const first = await watch.waitForStdout(/\n/);
    expect(first).toContain(`+ ${node}/${blue.id} 127.0.0.1:${blue.port} passing weight 7`);
    expect(first).not.toContain(green.id);

    await consul.setServiceMaintenance(green.id, false);
    await watch.waitForStdout(
      new RegExp(`\\+ ${node}/${green.id} 127\\.0\\.0\\.1:${green.port} passing`),
    );

    await consul.setServiceMaintenance(green.id, true, 'cli test');
    await watch.waitForStdout(new RegExp(`- ${node}/${green.id}`));
    expect(watch.stdout().trimEnd().split('\n')).toHaveLength(3);

    watch.child.kill('SIGINT');
    const result = await watch.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('watch NAME --json prints one JSON object per change', async () => {
    const watch = startCli(['watch', service, '--json']);
    await watch.waitForStdout(/\n/);
    await consul.setServiceMaintenance(green.id, false);
    await watch.waitForStdout(/\n.*\n/);
    watch.child.kill('SIGINT');
    const result = await watch.exited;
    expect(result.code).toBe(0);
    const [initial, change] = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(initial).toMatchObject({
      service,
      added: [`${node}/${blue.id}`],
      removed: [],
      changed: [],
    });
    expect(change).toMatchObject({ service, added: [`${node}/${green.id}`], removed: [] });
    expect((change!.instances as unknown[]).length).toBe(2);
    expect(change!.index as number).toBeGreaterThan(initial!.index as number);
    await consul.setServiceMaintenance(green.id, true, 'cli test');
  });
});
