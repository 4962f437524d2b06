import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressConsul } from '../../src';
import type { ExpressConsul } from '../../src';
import { freePort } from '../../harness/free-port';
import { startInstance, uniqueService } from '../support/test-instance';
import type { TestInstance } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';
import { expectOneLineError, runCli } from './run-cli';

// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

const DOCUMENT = {
  service: {
    name: 'gateway',
    id: 'gateway-host-ab12',
    state: 'running',
    registration: 'registered',
  },
  upstreams: [
    {
      service: 'my_service',
      ready: true,
      stalenessMs: 0,
      balancer: 'round-robin',
      retryBudget: { available: 12, requests: 100, retries: 3, exhausted: 0 },
      ejected: 1,
      instances: [
        {
          id: 'node-1/my_service-1',
          serviceId: 'my_service-1',
          node: 'node-1',
          address: '127.0.0.1',
          port: 41234,
          health: 'passing',
          weight: 1,
          inFlight: 2,
          latencyMs: 3.25,
          ejectedForMs: 0,
          slowStartShare: null,
        },
        {
          id: 'node-1/my_service-2',
          serviceId: 'my_service-2',
          node: 'node-1',
          address: '127.0.0.1',
          port: 41235,
          health: 'warning',
          weight: 3,
          inFlight: 0,
          latencyMs: null,
          ejectedForMs: 2500,
          slowStartShare: 0.5,
        },
      ],
    },
  ],
};

/** DOCUMENT with a discovery chain on its upstream: its v1 target has no instance and fails over. */
const WITH_TRAFFIC = {
  ...DOCUMENT,
  upstreams: [
    {
      ...DOCUMENT.upstreams[0],
      traffic: {
        index: 42,
        refused: true,
        lastRefusal:
          'Discovery chain Chain.Targets["v2.my_service.default.default.dc1"].Subset.Filter: filter refused',
        routes: [
          { match: 'header x-canary exact 1', next: 'resolver:v2.my_service.default.default.dc1' },
          { match: 'path prefix /', next: 'splitter:my_service.default.default' },
        ],
        splits: [
          { weight: 90, next: 'resolver:v1.my_service.default.default.dc1' },
          { weight: 10, next: 'resolver:v2.my_service.default.default.dc1' },
        ],
        targets: [
          {
            id: 'v1.my_service.default.default.dc1',
            instances: 0,
            failingOverTo: 'my_service.default.default.dc2',
          },
          { id: 'v2.my_service.default.default.dc1', instances: 2, failingOverTo: null },
          { id: 'my_service.default.default.dc2', instances: 3, failingOverTo: null },
          { id: 'lonely.default.default.dc1', instances: 0, failingOverTo: null },
        ],
      },
    },
  ],
};

// The status route's answers, served by a plain local HTTP server: they are the input of the
// command under test (what a wrong URL, a proxy or another version of the service may answer).
describe('express-consul status URL', () => {
  let server: Server;
  let base: string;
  const seenHeaders: IncomingHttpHeaders[] = [];
  const routes: Record<string, { status: number; body: string }> = {
    '/status': { status: 200, body: JSON.stringify(DOCUMENT) },
    '/html': { status: 200, body: '<html>not the status</html>' },
    '/truncated': { status: 200, body: JSON.stringify(DOCUMENT).slice(0, 200) },
    '/wrong-shape': {
      status: 200,
      body: JSON.stringify({
        ...DOCUMENT,
        upstreams: [
          {
            ...DOCUMENT.upstreams[0],
            instances: [{ ...DOCUMENT.upstreams[0]!.instances[0], port: '41234' }],
          },
        ],
      }),
    },
    '/bad-state': {
      status: 200,
      body: JSON.stringify({ ...DOCUMENT, service: { ...DOCUMENT.service, state: 'dancing' } }),
    },
    '/traffic': { status: 200, body: JSON.stringify(WITH_TRAFFIC) },
    '/bad-traffic': {
      status: 200,
      body: JSON.stringify({
        ...WITH_TRAFFIC,
        upstreams: [
          {
            ...WITH_TRAFFIC.upstreams[0],
            traffic: {
              ...WITH_TRAFFIC.upstreams[0]!.traffic,
              splits: [{ weight: '90', next: 'x' }],
            },
          },
        ],
      }),
    },
    '/unavailable': { status: 503, body: 'upstream connect error' },
    '/denied': { status: 403, body: 'forbidden' },
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      seenHeaders.push(request.headers);
      const route = routes[request.url ?? ''] ?? { status: 404, body: 'Cannot GET' };
      response.writeHead(route.status, { 'content-type': 'application/json' }).end(route.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('prints the service line and a table per upstream', async () => {
    const result = await runCli(['status', `${base}/status`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('gateway gateway-host-ab12  running  registered');
    expect(lines[2]).toBe(
      'my_service  ready  fresh  balancer round-robin  retry budget 12 left (100 requests, 3 retries, 0 refused)  ejected 1',
    );
    expect(lines[3]).toMatch(
      /^INSTANCE \(NODE\/ID\)\s+ADDRESS\s+HEALTH\s+WEIGHT\s+IN-FLIGHT\s+LATENCY\s+EJECTED\s+SLOW-START$/,
    );
    expect(lines[4]).toMatch(
      /^node-1\/my_service-1\s+127\.0\.0\.1:41234\s+passing\s+1\s+2\s+3\.3 ms\s+-\s+-$/,
    );
    expect(lines[5]).toMatch(
      /^node-1\/my_service-2\s+127\.0\.0\.1:41235\s+warning\s+3\s+0\s+-\s+2500 ms\s+50%$/,
    );
  });

  it("prints an upstream's discovery chain: routes, splits, each target and its failover", async () => {
    const result = await runCli(['status', `${base}/traffic`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    const start = lines.findIndex((line) => line.startsWith('  chain index'));
    // The chain is the last thing printed for the document's only upstream.
    expect(lines.slice(start)).toEqual([
      '  chain index 42  last good chain kept, newest refused: Discovery chain Chain.Targets["v2.my_service.default.default.dc1"].Subset.Filter: filter refused',
      '  route 1  header x-canary exact 1 -> resolver:v2.my_service.default.default.dc1',
      '  route 2  path prefix / -> splitter:my_service.default.default',
      '  split 90%  -> resolver:v1.my_service.default.default.dc1',
      '  split 10%  -> resolver:v2.my_service.default.default.dc1',
      expect.stringMatching(/^ {2}TARGET\s+INSTANCES\s+FAILING OVER TO$/),
      expect.stringMatching(
        /^ {2}v1\.my_service\.default\.default\.dc1\s+0\s+my_service\.default\.default\.dc2$/,
      ),
      expect.stringMatching(/^ {2}v2\.my_service\.default\.default\.dc1\s+2\s+-$/),
      expect.stringMatching(/^ {2}my_service\.default\.default\.dc2\s+3\s+-$/),
      expect.stringMatching(
        /^ {2}lonely\.default\.default\.dc1\s+0\s+none: no instance here nor in a failover target$/,
      ),
    ]);
    const json = await runCli(['status', `${base}/traffic`, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(WITH_TRAFFIC);
  });

  it('--json prints the document it read', async () => {
    const result = await runCli(['status', `${base}/status`, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(DOCUMENT);
  });

  it('never sends the Consul token to the status URL', async () => {
    const token = 'feedface-1234-4321-8888-000011112222';
    seenHeaders.length = 0;
    const result = await runCli(['status', `${base}/status`], { CONSUL_HTTP_TOKEN: token });
    expect(result.code).toBe(0);
    expect(seenHeaders).toHaveLength(1);
    expect(JSON.stringify(seenHeaders)).not.toContain(token);
  });

  it('exits 5 with the reason when the answer is not the status JSON', async () => {
    const cases: [string, RegExp][] = [
      ['/html', /the answer is not JSON \(starts with "<html>not the status/],
      ['/truncated', /the answer is not JSON/],
      [
        '/wrong-shape',
        /not an express-consul status answer: \$\.upstreams\[0\]\.instances\[0\]\.port is not a number/,
      ],
      [
        '/bad-state',
        /\$\.service\.state is not one of created\|starting\|running\|draining\|closed/,
      ],
      ['/nothing-here', /answered 404, not the status JSON/],
      ['/bad-traffic', /\$\.upstreams\[0\]\.traffic\.splits\[0\]\.weight is not a number/],
    ];
    const results = await Promise.all(cases.map(([path]) => runCli(['status', `${base}${path}`])));
    results.forEach((result, i) => {
      expect(result.code).toBe(5);
      expect(result.stdout).toBe('');
      expectOneLineError(result, cases[i]![1]);
    });
  });

  it('exits 2 when the URL is unreachable or answers 503, 3 when it refuses access', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/status`;
    const [refused, unavailable, denied] = await Promise.all([
      runCli(['status', closed]),
      runCli(['status', `${base}/unavailable`]),
      runCli(['status', `${base}/denied`]),
    ]);
    expect(refused.code).toBe(2);
    expectOneLineError(refused, /ECONNREFUSED/);
    expect(unavailable.code).toBe(2);
    expectOneLineError(unavailable, /answered 503/);
    expect(denied.code).toBe(3);
    expectOneLineError(denied, /access denied \(403\)/);
  });
});

// The real thing: a service's own `consul.statusHandler()` after it called an upstream through
// the shared Consul agent.
describe('express-consul status URL against consul.statusHandler()', () => {
  const upstream = uniqueService('cli-status-upstream');
  let instance: TestInstance;
  let caller: ExpressConsul;
  let base: string;

  beforeAll(async () => {
    instance = await startInstance(upstream);
    const app = express();
    caller = expressConsul(app, {
      service: { name: uniqueService('cli-status-caller'), check: { intervalMs: 1_000 } },
      metrics: false,
      shutdown: { handleSignals: false, propagationDelayMs: 0, drainTimeoutMs: 1_000 },
    });
    app.get('/admin/consul', caller.statusHandler());
    const server = await caller.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await waitFor(`${upstream} listed by Consul`, async () => {
      try {
        const answer = await caller.fetch(`http://${upstream}/hello`);
        return answer.ok ? true : undefined;
      } catch {
        return undefined;
      }
    });
  });
  afterAll(async () => {
    await caller.close();
    await instance.close();
  });

  it('prints what the caller sees of its upstream and exits 0', async () => {
    const [text, json] = await Promise.all([
      runCli(['status', `${base}/admin/consul`]),
      runCli(['status', `${base}/admin/consul`, '--json']),
    ]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(
      `${caller.status().service.name} ${caller.registration.serviceId}  running  registered`,
    );
    expect(text.stdout).toMatch(new RegExp(`^${upstream}  ready  fresh  balancer \\S+`, 'm'));
    expect(text.stdout).toMatch(
      new RegExp(
        `^\\S+/${instance.id}\\s+127\\.0\\.0\\.1:${instance.port}\\s+passing\\s+1\\s`,
        'm',
      ),
    );
    expect(json.code).toBe(0);
    const document = JSON.parse(json.stdout) as { upstreams: { service: string }[] };
    expect(document.upstreams.map((u) => u.service)).toEqual([upstream]);
  });
});
