import { request } from 'undici';
import { startRecordingProxy } from '../../harness/recording-proxy';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';
import { expectOneLineError, runCli } from './run-cli';
import type { CliResult } from './run-cli';

// `express-consul chain NAME` as a user runs it, against the run's real dev agent: config entries
// written with PUT /v1/config, instances registered with TTL checks (so the test turns them
// critical in Consul), nothing listening behind them (the command only reads Consul).
// Each CLI run is a fresh Node process compiling TypeScript on a shared 2-core machine: seconds each.
jest.setTimeout(120_000);

const EVIL = '\x1b[2J\x1b]0;pwned\x07\r\nFAKE-LINE\u202e\u2066\x9b31m\x7f';
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

async function consulCall(method: string, path: string, body?: unknown): Promise<string> {
  const answer = await request(`${process.env.CONSUL_HTTP_ADDR}${path}`, {
    method: method as 'GET',
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await answer.body.text();
  if (answer.statusCode !== 200) throw new Error(`${method} ${path}: ${answer.statusCode} ${text}`);
  return text;
}

interface ChainJson {
  service: string;
  isDefault: boolean;
  routes: {
    match: string;
    next: string;
    timeoutMs: number | null;
    numRetries: number;
    retryOnStatusCodes: number[];
  }[];
  splitters: { node: string; splits: { weight: number; next: string }[] }[];
  resolvers: {
    target: string;
    failover: string[];
    landsOn: string | null;
    failingOver: boolean;
  }[];
  targets: {
    id: string;
    subset: string;
    healthy: number;
    total: number;
    filter: string;
    filteredBy: string;
    unreadable: string | null;
  }[];
}

describe('express-consul chain NAME against a real agent', () => {
  const web = uniqueService('chain-web');
  const other = uniqueService('chain-other');
  const written: [string, string][] = [];
  const registered: string[] = [];
  const v1Target = `v1.${web}.default.default.dc1`;
  const v2Target = `v2.${web}.default.default.dc1`;
  const otherTarget = `${other}.default.default.dc1`;

  async function putEntry(entry: Record<string, unknown>): Promise<void> {
    expect((await consulCall('PUT', '/v1/config', entry)).trim()).toBe('true');
    const key: [string, string] = [entry.Kind as string, entry.Name as string];
    if (!written.some(([k, n]) => k === key[0] && n === key[1])) written.unshift(key);
  }

  async function register(service: string, id: string, port: number, version: string) {
    await consulCall('PUT', '/v1/agent/service/register', {
      Name: service,
      ID: id,
      Address: '127.0.0.1',
      Port: port,
      Meta: { version },
      Check: { CheckID: `check-${id}`, TTL: '600s', Status: 'passing' },
    });
    registered.push(id);
  }

  const resolver = (v2Filter: string): Record<string, unknown> => ({
    Kind: 'service-resolver',
    Name: web,
    DefaultSubset: 'v1',
    RequestTimeout: '7s',
    Subsets: {
      v1: { Filter: 'Service.Meta.version == "1"' },
      v2: { Filter: v2Filter, OnlyPassing: true },
    },
    Failover: { v1: { Targets: [{ Service: other }] } },
  });

  const json = async (): Promise<ChainJson> => {
    const result = await runCli(['chain', web, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as ChainJson;
  };

  beforeAll(async () => {
    await register(web, `${web}-v1a`, 20001, '1');
    await register(web, `${web}-v1b`, 20002, '1');
    await register(web, `${web}-v2a`, 20003, '2');
    await register(web, `${web}-v2b`, 20004, '2');
    await register(other, `${other}-1`, 20005, 'o');
    // v2b is critical: it counts in v2's total, not in what routing would use.
    await consulCall('PUT', `/v1/agent/check/fail/check-${web}-v2b`);
    await putEntry({ Kind: 'service-defaults', Name: web, Protocol: 'http' });
    await putEntry({ Kind: 'service-defaults', Name: other, Protocol: 'http' });
    await putEntry(resolver('Service.Meta.version == "2"'));
    await putEntry({
      Kind: 'service-splitter',
      Name: web,
      Splits: [
        { Weight: 90, ServiceSubset: 'v1' },
        { Weight: 10, ServiceSubset: 'v2' },
      ],
    });
    await putEntry({
      Kind: 'service-router',
      Name: web,
      Routes: [
        {
          Match: { HTTP: { Header: [{ Name: 'x-canary', Exact: '1' }] } },
          Destination: { ServiceSubset: 'v2' },
        },
        {
          Match: { HTTP: { PathExact: '/flaky' } },
          Destination: {
            ServiceSubset: 'v1',
            NumRetries: 3,
            RetryOnStatusCodes: [500, 503],
            RequestTimeout: '300ms',
          },
        },
      ],
    });
  });

  afterAll(async () => {
    for (const [kind, name] of written) await consulCall('DELETE', `/v1/config/${kind}/${name}`);
    for (const id of registered) await consulCall('PUT', `/v1/agent/service/deregister/${id}`);
  });

  it('prints routes in order, splits, failover, targets with healthy/total, where calls land', async () => {
    const result = await runCli(['chain', web]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^${web}  datacenter dc1  protocol http  index \\d+  start router:${web}\\.`),
    );
    const at = (title: string): number => lines.findIndex((line) => line.startsWith(title));
    const routes = lines.slice(at('routes (first match wins)') + 1, at('routes') + 5);
    expect(routes[0]).toMatch(/^#\s+MATCH\s+DESTINATION\s+TIMEOUT\s+RETRIES\s+RETRY-ON\s+REWRITE$/);
    expect(routes[1]).toMatch(
      new RegExp(`^1\\s+header x-canary exact 1\\s+resolver:${v2Target}\\s+-\\s+0$`),
    );
    expect(routes[2]).toMatch(
      new RegExp(`^2\\s+path /flaky\\s+resolver:${v1Target}\\s+300 ms\\s+3\\s+500,503$`),
    );
    // Consul's own catch-all route comes last and leads to the splitter.
    expect(routes[3]).toMatch(new RegExp(`^3\\s+path prefix /\\s+splitter:${web}\\.`));
    const splits = lines.slice(at('splits of ') + 1, at('splits of ') + 4);
    expect(splits).toEqual([
      expect.stringMatching(/^WEIGHT\s+DESTINATION$/),
      expect.stringMatching(new RegExp(`^\\s*90%\\s+resolver:${v1Target}$`)),
      expect.stringMatching(new RegExp(`^\\s*10%\\s+resolver:${v2Target}$`)),
    ]);
    expect(result.stdout).toContain(
      `  ${v1Target}  failover ${otherTarget}  timeout 7000 ms  lands on ${v1Target}`,
    );
    const row = (id: string) => lines.find((line) => line.startsWith(`${id} `));
    expect(row(v1Target)).toMatch(
      new RegExp(`^${v1Target}\\s+${web}\\s+v1\\s+dc1\\s+2\\s+2\\s+Service.Meta.version == "1"$`),
    );
    expect(row(v2Target)).toMatch(
      new RegExp(
        `^${v2Target}\\s+${web}\\s+v2\\s+dc1\\s+1\\s+2\\s+Service.Meta.version == "2" \\(only passing\\)$`,
      ),
    );
    expect(row(otherTarget)).toMatch(
      new RegExp(`^${otherTarget}\\s+${other}\\s+-\\s+dc1\\s+1\\s+1`),
    );
  });

  it('--json carries the same, and shows the failover once every v1 instance is critical', async () => {
    const before = await json();
    expect(before.service).toBe(web);
    expect(before.isDefault).toBe(false);
    expect(before.routes.map((route) => [route.match, route.numRetries, route.timeoutMs])).toEqual([
      ['header x-canary exact 1', 0, null],
      ['path /flaky', 3, 300],
      ['path prefix /', 0, null],
    ]);
    expect(before.splitters[0]!.splits).toEqual([
      { weight: 90, next: `resolver:${v1Target}` },
      { weight: 10, next: `resolver:${v2Target}` },
    ]);
    const v1 = (view: ChainJson) => view.resolvers.find((r) => r.target === v1Target)!;
    expect(v1(before)).toMatchObject({
      failover: [otherTarget],
      landsOn: v1Target,
      failingOver: false,
    });
    expect(before.targets.find((t) => t.id === v2Target)).toMatchObject({
      healthy: 1,
      total: 2,
      filteredBy: 'library',
    });

    for (const id of [`${web}-v1a`, `${web}-v1b`]) {
      await consulCall('PUT', `/v1/agent/check/fail/check-${id}`);
    }
    try {
      const after = await json();
      expect(v1(after)).toMatchObject({ landsOn: otherTarget, failingOver: true });
      expect(after.targets.find((t) => t.id === v1Target)).toMatchObject({ healthy: 0, total: 2 });
      const text = await runCli(['chain', web]);
      expect(text.stdout).toContain(`failing over to ${otherTarget}`);
    } finally {
      for (const id of [`${web}-v1a`, `${web}-v1b`]) {
        await consulCall('PUT', `/v1/agent/check/pass/check-${id}`);
      }
    }
  });

  it('a filter reading what our instances do not carry is counted by Consul (filter=)', async () => {
    await putEntry(resolver('Service.Meta.version == "2" and Node.Datacenter == "dc1"'));
    try {
      const view = await waitFor('the new resolver compiled', async () => {
        const read = await json();
        const v2 = read.targets.find((t) => t.id === v2Target);
        return v2?.filter.includes('Node.Datacenter') === true ? v2 : undefined;
      });
      expect(view).toMatchObject({ healthy: 1, total: 2, filteredBy: 'consul' });
    } finally {
      await putEntry(resolver('Service.Meta.version == "2"'));
    }
  });

  it('a failover datacenter Consul cannot reach: the chain still shows, that target marked not read', async () => {
    await putEntry({
      ...resolver('Service.Meta.version == "2"'),
      Failover: { v1: { Targets: [{ Service: other }, { Datacenter: 'dc9' }] } },
    });
    try {
      const far = `v1.${web}.default.default.dc9`;
      const view = await waitFor('the failover to dc9 compiled', async () => {
        const read = await json();
        return read.targets.some((t) => t.id === far) ? read : undefined;
      });
      expect(view.resolvers.find((r) => r.target === v1Target)).toMatchObject({
        failover: [otherTarget, far],
        landsOn: v1Target,
      });
      expect(view.targets.find((t) => t.id === far)).toMatchObject({
        healthy: 0,
        total: 0,
        unreadable: expect.stringMatching(/dc9|datacenter/i),
      });
      expect(view.targets.find((t) => t.id === v1Target)).toMatchObject({ healthy: 2, total: 2 });
      const text = await runCli(['chain', web]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(
        new RegExp(`^${far.replace(/\./g, '\\.')}\\s+${web}\\s+v1\\s+dc9\\s+\\?\\s+-`, 'm'),
      );
      expect(text.stdout).toMatch(new RegExp(`^${far.replace(/\./g, '\\.')}: not read: `, 'm'));
    } finally {
      await putEntry(resolver('Service.Meta.version == "2"'));
    }
  });

  it('a chain the library refuses exits 5 with the typed error naming the path', async () => {
    // Consul (Go's regexp) accepts it; our linear-time engine refuses a program this large.
    await putEntry(
      resolver('Service.Meta.version matches "x{1000}y{1000}z{1000}w{1000}v{1000}u{1000}"'),
    );
    try {
      const result = await runCli(['chain', web]);
      expect(result.code).toBe(5);
      expect(result.stdout).toBe('');
      expectOneLineError(
        result,
        new RegExp(
          `^express-consul: refused: Discovery chain Chain\\.Targets\\["${v2Target.replace(/\./g, '\\.')}"\\]\\.Subset\\.Filter: `,
        ),
      );
    } finally {
      await putEntry(resolver('Service.Meta.version == "2"'));
    }
  });

  it('sends the token from CONSUL_HTTP_TOKEN in the header only, and never prints it', async () => {
    // The dev agent runs without ACLs and ignores it; the proxy shows where it travelled.
    const proxy = await startRecordingProxy(process.env.CONSUL_HTTP_ADDR!);
    const token = 'feedface-1234-4321-8888-000011112222';
    try {
      const env = { CONSUL_HTTP_ADDR: proxy.address, CONSUL_HTTP_TOKEN: token };
      const [text, asJson] = await Promise.all([
        runCli(['chain', web], env),
        runCli(['chain', web, '--json'], env),
      ]);
      for (const result of [text, asJson]) {
        expect(result.code).toBe(0);
        expect(result.stdout + result.stderr).not.toContain(token);
      }
      const reads = proxy.requests.filter((r) => r.url.startsWith('/v1/'));
      // The chain and each target's health, for both runs.
      expect(reads.length).toBeGreaterThanOrEqual(8);
      for (const read of reads) {
        expect(read.headers['x-consul-token']).toBe(token);
        expect(read.url).not.toContain(token);
      }
    } finally {
      await proxy.close();
    }
  });

  it('a service without entries: its default chain, said plainly', async () => {
    const result = await runCli(['chain', other]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('protocol http');
    const bare = uniqueService('chain-bare');
    const plain = await runCli(['chain', bare, '--json']);
    expect(plain.code).toBe(0);
    const view = JSON.parse(plain.stdout) as ChainJson;
    expect(view.isDefault).toBe(true);
    expect(view.targets).toEqual([
      expect.objectContaining({ id: `${bare}.default.default.dc1`, healthy: 0, total: 0 }),
    ]);
  });

  it('hostile text from Consul (a name, a subset filter) never reaches the terminal raw', async () => {
    const expectSafe = (result: CliResult): void => {
      for (const output of [result.stdout, result.stderr]) {
        expect(output.replace(/\n/g, '')).not.toMatch(CONTROLS);
        expect(output).not.toMatch(/^FAKE-LINE/m);
      }
    };
    // A Go raw string: any character but a backquote, so the escape codes reach Consul as they are.
    await putEntry(resolver(`Service.Meta.version == \`${EVIL}\``));
    try {
      const read = await waitFor('the hostile filter compiled', async () => {
        const result = await runCli(['chain', web]);
        return result.stdout.includes('FAKE-LINE') ? result : undefined;
      });
      expect(read.code).toBe(0);
      expectSafe(read);
      expect(read.stdout).toContain('\\x1b[2J\\x1b]0;pwned\\x07\\x0d\\x0aFAKE-LINE\\u202e');
      const asJson = await runCli(['chain', web, '--json']);
      expect(asJson.code).toBe(0);
      expect(asJson.stdout.replace(/\n$/, '')).not.toMatch(CONTROLS);
      const v2 = (JSON.parse(asJson.stdout) as ChainJson).targets.find((t) => t.id === v2Target);
      expect(v2?.filter).toBe(`Service.Meta.version == \`${EVIL}\``);
    } finally {
      await putEntry(resolver('Service.Meta.version == "2"'));
    }
    // The name typed is echoed by Consul in the default chain it compiles for it.
    const named = await runCli(['chain', `evil${EVIL}`]);
    expectSafe(named);
    expect(named.stdout + named.stderr).toContain('FAKE-LINE');
  });
});
