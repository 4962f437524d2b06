// Issue #12: Consul's standard topology, a client agent on every host with its HTTP API on that
// host's 127.0.0.1:8500. Three hosts (network namespaces on a bridge), the server on h1, client
// agents on h2 and h3; my_service on h2 and h3 with the defaults of the README and
// docs/topologies.md (no address option, all interfaces), a gateway on h1 on the same port calling
// it by name. Needs Linux and root.
import { hostsUnsupportedReason, startHosts } from '../../src/testing';
import type { StartedHosts } from '../../src/testing';
import { waitFor } from '../../harness/wait-for';
import { dialedAddress, passingEntries } from './support/consul-health';
import type { HealthEntry } from './support/consul-health';
import { startLoad, summarize } from './support/gateway-load';
import type { Outcome } from './support/gateway-load';
import { startExampleIn } from './support/host-example';
import type { RunningExample } from './support/host-example';

const unsupported = hostsUnsupportedReason();
// CI runs as root: there a machine that cannot run these is a failure, never a silent skip.
const describeHosts = unsupported === undefined || process.env.CI ? describe : describe.skip;
if (unsupported !== undefined && !process.env.CI)
  process.stdout.write(`[hosts] skipped: ${unsupported}\n`);

const log = (line: string): void => {
  process.stdout.write(`[hosts] ${line}\n`);
};

const SERVICE_PORT = 8080;

/** The documented defaults: the port, every interface, no address option. h2 on `::`, h3 on 0.0.0.0. */
const serviceEnv = (host: string): Record<string, string> => ({
  PORT: String(SERVICE_PORT),
  HOST: host === 'h2' ? '::' : '0.0.0.0',
  INSTANCE_NAME: host,
  CHECK_INTERVAL_MS: '1000',
});

describeHosts(
  'agent per host, README defaults: a gateway on h1 calls my_service on h2 and h3',
  () => {
    let hosts: StartedHosts | undefined;
    const services = new Map<string, RunningExample>();
    let gatewayUrl = '';

    const consulOfH1 = (): string => hosts!.host('h1').consulAddress;

    /** Waits until exactly the instances on `names` pass, then checks each is dialed at its host's address. */
    async function passingOn(names: readonly string[]): Promise<HealthEntry[]> {
      const entries = await waitFor(
        `my_service passing on ${names.join(', ')}`,
        async () => {
          const list = await passingEntries(consulOfH1(), 'my_service');
          const nodes = list.map((entry) => entry.Node.Node).sort();
          return nodes.join() === [...names].sort().join() ? list : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const dialed = entries
        .map((entry) => [entry.Node.Node, dialedAddress(entry)])
        .sort(([a], [b]) => a!.localeCompare(b!));
      // Before any load: an instance advertised at 127.0.0.1 would send h1's gateway to itself.
      expect(dialed).toEqual([...names].sort().map((name) => [name, hosts!.host(name).address]));
      return entries;
    }

    beforeAll(async () => {
      hosts = await startHosts({ clients: 2 });
      log(
        `3 hosts on ${hosts.subnet} (${hosts.hosts.map((h) => `${h.name}=${h.address} ${h.role}`).join(', ')}), agents joined with a leader in ${hosts.startupMs} ms`,
      );
      const started = Date.now();
      const [h2, h3] = await Promise.all(
        ['h2', 'h3'].map((name) =>
          startExampleIn(hosts!.host(name), 'my-service', serviceEnv(name)),
        ),
      );
      services.set('h2', h2!).set('h3', h3!);
      const gateway = await startExampleIn(hosts.host('h1'), 'gateway', {
        PORT: String(SERVICE_PORT),
        HOST: '0.0.0.0',
        CHECK_INTERVAL_MS: '1000',
      });
      gatewayUrl = `http://${hosts.host('h1').address}:${gateway.port}/`;
      log(`my_service on h2 and h3 and the gateway on h1 listening in ${Date.now() - started} ms`);
    }, 240_000);

    afterAll(async () => {
      await hosts?.close();
    }, 60_000);

    it('registers each instance at its own host address; 0 failed of 400 requests, both hosts serve', async () => {
      await passingOn(['h2', 'h3']);
      const load = startLoad(gatewayUrl, { concurrency: 4, maxRequests: 400, maxMs: 120_000 });
      await load.done;
      const summary = summarize(load.outcomes);
      log(`across hosts: ${JSON.stringify(summary)}`);
      expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
      expect(summary.requests).toBe(400);
      expect(Object.keys(summary.perInstance).sort()).toEqual(['h2', 'h3']);
    }, 180_000);

    it('rolling restart across hosts under load (h2, then h3, each back passing first): 0 failed', async () => {
      await passingOn(['h2', 'h3']);
      const load = startLoad(gatewayUrl, { concurrency: 4, maxRequests: 30_000, maxMs: 240_000 });
      const phases: {
        name: string;
        oldId: string;
        newId: string;
        exit: unknown;
        stopStarted: number;
        stopEnded: number;
        passingAt: number;
      }[] = [];
      const after = (at: number): Outcome[] => load.outcomes.filter((o) => o.startedAt > at);
      try {
        await waitFor(
          '50 requests before the first restart',
          () => (load.outcomes.length >= 50 ? true : undefined),
          { timeoutMs: 60_000 },
        );
        for (const name of ['h2', 'h3']) {
          const old = services.get(name)!;
          const stopStarted = performance.now();
          const exit = await old.process.stop({ timeoutMs: 30_000 });
          const stopEnded = performance.now();
          const next = await startExampleIn(hosts!.host(name), 'my-service', serviceEnv(name));
          services.set(name, next);
          await waitFor(
            `the new instance on ${name} passing`,
            async () =>
              (await passingEntries(consulOfH1(), 'my_service')).some(
                (entry) => entry.Service.ID === next.id,
              )
                ? true
                : undefined,
            { timeoutMs: 60_000, intervalMs: 200 },
          );
          phases.push({
            name,
            oldId: old.id,
            newId: next.id,
            exit,
            stopStarted,
            stopEnded,
            passingAt: performance.now(),
          });
        }
        const lastPassing = phases.at(-1)!.passingAt;
        await waitFor(
          '50 requests after the last restart',
          () => (after(lastPassing).length >= 50 ? true : undefined),
          { timeoutMs: 60_000 },
        );
      } finally {
        await load.stop();
      }
      const summary = summarize(load.outcomes);
      const byId = (id: string): Outcome[] => load.outcomes.filter((o) => o.id === id);
      log(
        `rolling restart: ${JSON.stringify(summary)}; ` +
          phases
            .map(
              (p) =>
                `${p.name}: stop ${((p.stopEnded - p.stopStarted) / 1000).toFixed(1)} s, new instance passing ${((p.passingAt - p.stopEnded) / 1000).toFixed(1)} s later, ${load.outcomes.filter((o) => o.endedAt >= p.stopStarted && o.startedAt <= p.stopEnded).length} requests during the stop`,
            )
            .join('; '),
      );
      expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
      for (const phase of phases) {
        // Drained, then the signal re-raised: SIGTERM, not the SIGKILL of an overrun.
        expect([phase.name, phase.exit]).toEqual([phase.name, { code: null, signal: 'SIGTERM' }]);
        expect(byId(phase.oldId).some((o) => o.endedAt < phase.stopStarted)).toBe(true);
        expect(byId(phase.oldId).filter((o) => o.startedAt > phase.stopEnded)).toEqual([]);
        expect(byId(phase.newId).length).toBeGreaterThan(0);
        expect(
          load.outcomes.filter(
            (o) => o.endedAt >= phase.stopStarted && o.startedAt <= phase.stopEnded,
          ).length,
        ).toBeGreaterThan(0);
      }
      expect(new Set(after(phases.at(-1)!.passingAt).map((o) => o.instance))).toEqual(
        new Set(['h2', 'h3']),
      );
    }, 300_000);

    it("an instance on h2 registered through h3's agent (over the network) advertises h2's route to it", async () => {
      await passingOn(['h2', 'h3']);
      const h2 = hosts!.host('h2');
      const remote = await startExampleIn(h2, 'my-service', {
        ...serviceEnv('h2'),
        PORT: '8081',
        INSTANCE_NAME: 'h2-via-h3',
        CONSUL_HTTP_ADDR: hosts!.host('h3').consulAddress,
      });
      try {
        const entry = await waitFor(
          'the instance registered through h3 passing',
          async () =>
            (await passingEntries(consulOfH1(), 'my_service')).find(
              (candidate) => candidate.Service.ID === remote.id,
            ),
          { timeoutMs: 60_000, intervalMs: 200 },
        );
        // Node h3 (the agent it registered with), address h2's: h3's agent checks it across hosts.
        expect([entry.Node.Node, entry.Service.Address, entry.Service.Port]).toEqual([
          'h3',
          h2.address,
          8081,
        ]);
        const load = startLoad(gatewayUrl, { concurrency: 4, maxRequests: 300, maxMs: 120_000 });
        await load.done;
        const summary = summarize(load.outcomes);
        log(`with an instance registered through another host's agent: ${JSON.stringify(summary)}`);
        expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
        expect(Object.keys(summary.perInstance).sort()).toEqual(['h2', 'h2-via-h3', 'h3']);
      } finally {
        await remote.process.stop({ timeoutMs: 30_000 });
      }
    }, 240_000);
  },
);
