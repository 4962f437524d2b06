import { resolve } from 'node:path';
import { freePorts } from '../../harness/free-port';
import { waitFor } from '../../harness/wait-for';
import { builtImageIds, dockerState, exec } from './docker-cli';
import type { DockerState } from './docker-cli';

// The repository's docker-compose.yml, run the way its users run it: `docker-compose up -d --build`
// with the official image names (scripts/docker.sh makes sure they exist), every assertion through
// the ports the file publishes on 127.0.0.1.

const root = resolve(__dirname, '../..');
const project = `ecompose${process.pid}${Date.now().toString(36)}`;

interface HealthEntry {
  Service: { ID: string; Address: string; Port: number; Meta: Record<string, string> };
  Checks: { CheckID: string; Status: string; Type: string; Output: string }[];
}

interface Outcome {
  readonly status: number;
  readonly id?: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

const log = (line: string): void => {
  process.stdout.write(`[compose] ${line}\n`);
};

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url} -> ${response.status}`);
  return (await response.json()) as T;
}

/** One GET through the gateway; a network error or a non-200 counts as a lost request (status 0). */
async function callGateway(url: string): Promise<Outcome> {
  const startedAt = Date.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    const id = response.status === 200 ? (JSON.parse(text) as { id: string }).id : undefined;
    return { status: response.status, ...(id ? { id } : {}), startedAt, endedAt: Date.now() };
  } catch {
    return { status: 0, startedAt, endedAt: Date.now() };
  }
}

const perInstance = (outcomes: readonly Outcome[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const { id } of outcomes) if (id) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
};

describe('docker-compose.yml: Consul, 3 my_service replicas, the gateway and Prometheus', () => {
  let before: DockerState;
  let env: NodeJS.ProcessEnv;
  let consulUrl: string;
  let gatewayUrl: string;
  let prometheusUrl: string;
  let buildOutput = '';
  let serviceIds: string[] = [];
  let tornDown = false;

  const compose = (args: readonly string[], timeoutMs?: number): Promise<string> =>
    exec('docker-compose', ['-p', project, ...args], {
      cwd: root,
      env,
      ...(timeoutMs ? { timeoutMs } : {}),
    });

  /** `down` with volumes and the images it built, then the earlier build stages' untagged images. */
  async function tearDown(): Promise<void> {
    tornDown = true;
    await compose(['down', '--volumes', '--rmi', 'local', '--remove-orphans', '--timeout', '30']);
    const ours = builtImageIds(buildOutput);
    let leftovers = (await dockerState()).images.filter(
      (id) => !before.images.includes(id) && ours.has(id.replace('sha256:', '').slice(0, 12)),
    );
    // A stage image may be the parent of another: remove children first by retrying until none is left.
    for (let round = 0; leftovers.length > 0 && round < 5; round++) {
      for (const id of leftovers) await exec('docker', ['image', 'rm', id]).catch(() => undefined);
      const now = (await dockerState()).images;
      leftovers = leftovers.filter((id) => now.includes(id));
    }
  }

  beforeAll(async () => {
    before = await dockerState();
    const [consulPort, gatewayPort, prometheusPort] = (await freePorts(3)) as [
      number,
      number,
      number,
    ];
    env = {
      ...process.env,
      // The classic builder, whose step ids tearDown() reads to remove this build's stage images.
      COMPOSE_DOCKER_CLI_BUILD: '0',
      DOCKER_BUILDKIT: '0',
      CONSUL_PORT: String(consulPort),
      GATEWAY_PORT: String(gatewayPort),
      PROMETHEUS_PORT: String(prometheusPort),
    };
    consulUrl = `http://127.0.0.1:${consulPort}`;
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    const started = Date.now();
    buildOutput = await compose(['up', '-d', '--build'], 900_000);
    log(`project ${project}: up -d --build took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 960_000);

  afterAll(async () => {
    if (!tornDown) await tearDown();
  }, 300_000);

  it('publishes every port on 127.0.0.1 only', async () => {
    const ids = (await compose(['ps', '-q'])).split('\n').filter(Boolean);
    expect(ids.length).toBe(6);
    const bindings = JSON.parse(
      await exec('docker', [
        'inspect',
        '--format',
        '{{json .HostConfig.PortBindings}}',
        ...ids,
      ]).then((out) => `[${out.trim().split('\n').join(',')}]`),
    ) as (Record<string, { HostIp: string; HostPort: string }[]> | null)[];
    const hostIps = bindings.flatMap((ports) =>
      Object.values(ports ?? {}).flatMap((list) => list.map((binding) => binding.HostIp)),
    );
    expect(hostIps).toHaveLength(3);
    expect(new Set(hostIps)).toEqual(new Set(['127.0.0.1']));
  });

  it('serves the Consul UI', async () => {
    const response = await waitFor(
      'the Consul UI',
      async () => {
        const answer = await fetch(`${consulUrl}/ui/`, { signal: AbortSignal.timeout(10_000) });
        return answer.ok ? answer : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const html = await response.text();
    expect(html).toContain('<title>Consul');
    log(`Consul UI answers at ${consulUrl}/ui/ (${html.length} bytes of HTML)`);
  });

  it('has 3 my_service instances passing their HTTP checks, at their container addresses', async () => {
    const entries = await waitFor(
      '3 passing my_service instances',
      async () => {
        const list = await getJson<HealthEntry[]>(
          `${consulUrl}/v1/health/service/my_service?passing=true`,
        );
        return list.length === 3 ? list : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const { Service, Checks } of entries) {
      expect(Checks.every((check) => check.Status === 'passing')).toBe(true);
      const http = Checks.find((check) => check.Type === 'http');
      expect(http?.Output).toContain(`http://${Service.Address}:${Service.Port}/health`);
      expect(Service.Address).not.toMatch(/^127\./);
      expect(Service.Meta.metrics_path).toBe('/metrics');
    }
    serviceIds = entries.map((entry) => entry.Service.ID).sort();
    expect(new Set(entries.map((entry) => entry.Service.Address)).size).toBe(3);
    // Each replica advertises its own address on the compose network: the route to the agent.
    const replicas = (await compose(['ps', '-q', 'my_service'])).split('\n').filter(Boolean);
    const own = await exec('docker', [
      'inspect',
      '--format',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      ...replicas,
    ]);
    expect(entries.map((entry) => entry.Service.Address).sort()).toEqual(
      own.trim().split('\n').sort(),
    );
    log(
      `passing: ${entries.map((entry) => `${entry.Service.ID}@${entry.Service.Address}:${entry.Service.Port}`).join(', ')}`,
    );
  });

  it('sends 300 requests through the gateway to all 3 replicas', async () => {
    expect(serviceIds).toHaveLength(3);
    // `up -d` returns once containers run, not once the gateway listens and has watched my_service.
    await waitFor(
      'the gateway passing in Consul and answering 200',
      async () => {
        const gateway = await getJson<HealthEntry[]>(
          `${consulUrl}/v1/health/service/gateway?passing=true`,
        );
        return gateway.length === 1 && (await callGateway(`${gatewayUrl}/`)).status === 200
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const outcomes: Outcome[] = [];
    const started = Date.now();
    // 6 workers x 50 requests: bounded in count; each request bounded in time.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 50; i++) outcomes.push(await callGateway(`${gatewayUrl}/`));
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const counts = perInstance(outcomes);
    log(
      `300 requests in ${seconds.toFixed(1)} s: ${outcomes.filter((o) => o.status === 200).length} x 200, per instance ${JSON.stringify(counts)}`,
    );
    expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    expect(Object.keys(counts).sort()).toEqual(serviceIds);
  }, 240_000);

  it('lets Prometheus discover every instance through Consul and scrape it', async () => {
    interface Target {
      labels: Record<string, string>;
      scrapeUrl: string;
      health: string;
    }
    const targets = await waitFor(
      'Prometheus scraping 3 my_service targets and the gateway',
      async () => {
        const { data } = await getJson<{ data: { activeTargets: Target[] } }>(
          `${prometheusUrl}/api/v1/targets?state=active`,
        );
        const up = data.activeTargets.filter((target) => target.health === 'up');
        const mine = up.filter((target) => target.labels.consul_service === 'my_service');
        return mine.length === 3 && up.some((target) => target.labels.consul_service === 'gateway')
          ? up
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    const mine = targets.filter((target) => target.labels.consul_service === 'my_service');
    expect(mine.map((target) => target.labels.consul_service_id).sort()).toEqual(serviceIds);
    for (const target of mine) expect(target.scrapeUrl).toMatch(/^http:\/\/[\d.]+:3000\/metrics$/);

    // The series came from the scrapes: the gateway's own view of my_service, as scraped.
    const query = encodeURIComponent(
      'express_consul_discovery_instances{consul_service="gateway",service="my_service",state="healthy"}',
    );
    const value = await waitFor(
      'the gateway-scraped express_consul_discovery_instances series',
      async () => {
        const { data } = await getJson<{ data: { result: { value: [number, string] }[] } }>(
          `${prometheusUrl}/api/v1/query?query=${query}`,
        );
        return data.result[0]?.value[1];
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    expect(value).toBe('3');
    log(
      `Prometheus targets up: ${targets.map((target) => `${target.labels.consul_service}=${target.scrapeUrl}`).join(', ')}; gateway reports ${value} healthy my_service instances`,
    );
  }, 240_000);

  it('loses no request at the gateway while one replica is stopped with SIGTERM under load', async () => {
    const containers = (await compose(['ps', '-q', 'my_service'])).split('\n').filter(Boolean);
    expect(containers).toHaveLength(3);
    const victim = containers[0]!;
    // The default service id carries the container's hostname: its short id.
    const victimId = serviceIds.find((id) => id.includes(`-${victim.slice(0, 12)}-`));
    expect(victimId).toBeDefined();

    const outcomes: Outcome[] = [];
    const maxRequests = 3_000;
    const deadline = Date.now() + 120_000;
    let stopLoad = false;
    const workers = Array.from({ length: 4 }, async () => {
      while (!stopLoad && outcomes.length < maxRequests && Date.now() < deadline)
        outcomes.push(await callGateway(`${gatewayUrl}/`));
    });
    try {
      await waitFor(
        '60 requests before the stop',
        () => (outcomes.length >= 60 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      const stopStarted = Date.now();
      await exec('docker', ['stop', '--time', '30', victim]);
      const stopEnded = Date.now();
      const exitCode = (
        await exec('docker', ['inspect', '--format', '{{.State.ExitCode}}', victim])
      ).trim();
      const afterStop = (): Outcome[] => outcomes.filter((o) => o.startedAt > stopEnded);
      await waitFor(
        '60 requests after the stop',
        () => (afterStop().length >= 60 ? true : undefined),
        {
          timeoutMs: 60_000,
        },
      );
      stopLoad = true;
      await Promise.all(workers);

      const duringStop = outcomes.filter(
        (o) => o.endedAt >= stopStarted && o.startedAt <= stopEnded,
      );
      const lost = outcomes.filter((o) => o.status !== 200);
      log(
        `stop of ${victimId} took ${((stopEnded - stopStarted) / 1000).toFixed(1)} s (exit code ${exitCode}); ` +
          `${outcomes.length} requests, ${duringStop.length} during the stop, ${lost.length} lost; per instance ${JSON.stringify(perInstance(outcomes))}`,
      );
      expect(lost).toEqual([]);
      // 143 = 128 + SIGTERM: the service drained and re-raised the signal; 137 would be Docker's SIGKILL.
      expect(exitCode).toBe('143');
      expect(duringStop.length).toBeGreaterThan(0);
      expect(outcomes.some((o) => o.id === victimId && o.endedAt < stopStarted)).toBe(true);
      expect(afterStop().filter((o) => o.id === victimId)).toEqual([]);
      const remaining = await getJson<HealthEntry[]>(
        `${consulUrl}/v1/health/service/my_service?passing=true`,
      );
      expect(remaining.map((entry) => entry.Service.ID).sort()).toEqual(
        serviceIds.filter((id) => id !== victimId),
      );
    } finally {
      stopLoad = true;
      await Promise.all(workers);
    }
  }, 240_000);

  it('`down` leaves docker ps -a, networks, volumes and images as they were before', async () => {
    const started = Date.now();
    await tearDown();
    const after = await dockerState();
    log(
      `down + build-stage cleanup took ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `${after.containers.length} containers, ${after.networks.length} networks, ${after.volumes.length} volumes, ${after.images.length} images (as before)`,
    );
    expect(after).toEqual(before);
  }, 300_000);
});
