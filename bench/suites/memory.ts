/**
 * Memory and scale: heap used over a baseline while the helper watches 100 services of 10
 * instances and 1 service of 1,000 instances (after full garbage collections; needs
 * `--expose-gc`, which `npm run bench` passes), and how long a change to a 1,000-instance service
 * takes from the Consul PUT to the helper's new list (Consul's answer of 1,000 entries, its
 * parsing and the routing table rebuilt). No requests are made, so no connection pools exist.
 */
import { createDiscovery, type ServiceChangeEvent } from '../../src';
import { waitFor } from '../../harness/wait-for';
import { collectGarbage } from '../lib/alternating';
import { epochNow } from '../lib/load';
import { pause, quantile, round } from '../lib/stats';
import {
  checkAborted,
  deregisterAll,
  registerInstances,
  type Suite,
  type SuiteContext,
} from '../lib/suite';
import { num } from '../lib/table';

interface Footprint {
  readonly services: number;
  readonly instancesPerService: number;
  readonly heapOverBaselineMb: number;
  readonly bytesPerInstance: number;
}

function heapUsed(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function fakeTargets(count: number): { host: string; port: number }[] {
  return Array.from({ length: count }, (_, i) => ({
    host: `127.20.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    port: 8080,
  }));
}

async function footprint(
  { consul, agent, signal }: SuiteContext,
  services: number,
  perService: number,
  changes: number,
): Promise<Footprint & { applyMs?: { p50: number; p99: number; samples: number } }> {
  const names = Array.from(
    { length: services },
    (_, i) => `bench-mem-${services}x${perService}-${i}`,
  );
  const ids: string[] = [];
  try {
    for (const name of names)
      ids.push(...(await registerInstances(consul, name, fakeTargets(perService))));
    checkAborted(signal);
    const baseline = heapUsed();
    const discovery = createDiscovery({ consul: { address: agent.address } });
    try {
      const clients = names.map((name) => discovery.service(name));
      await Promise.all(clients.map((c) => c.ready()));
      await waitFor('every watched list to be complete', () =>
        clients.every((c) => c.instances().length === perService) ? true : undefined,
      );
      const used = heapUsed() - baseline;
      let applyMs: { p50: number; p99: number; samples: number } | undefined;
      if (changes > 0) {
        const client = clients[0]!;
        const samples: number[] = [];
        for (let i = 0; i < changes; i++) {
          checkAborted(signal);
          await pause(150);
          const id = `${names[0]}-extra`;
          const adding = i % 2 === 0;
          const seen = new Promise<number>((resolve) => {
            const off = client.watcher.onChange((event: ServiceChangeEvent) => {
              if (event.instances.some((x) => x.serviceId === id) === adding) {
                off();
                resolve(epochNow());
              }
            });
          });
          const t0 = epochNow();
          if (adding) {
            await consul.registerService({
              Name: names[0]!,
              ID: id,
              Address: '127.20.99.1',
              Port: 8080,
            });
          } else await consul.deregisterService(id);
          samples.push((await seen) - t0);
        }
        applyMs = {
          p50: round(quantile(samples, 0.5)),
          p99: round(quantile(samples, 0.99)),
          samples: samples.length,
        };
      }
      return {
        services,
        instancesPerService: perService,
        heapOverBaselineMb: round(used / 1_048_576, 2),
        bytesPerInstance: Math.round(used / (services * perService)),
        ...(applyMs && { applyMs }),
      };
    } finally {
      await discovery.close();
    }
  } finally {
    await deregisterAll(consul, [...ids, `${names[0]}-extra`]);
  }
}

export const memorySuite: Suite = {
  id: 'memory',
  title: 'Memory and scale of the watches',
  async run(context) {
    const { quick } = context;
    const cases = quick
      ? [
          { services: 10, perService: 10, changes: 0 },
          { services: 1, perService: 100, changes: 3 },
        ]
      : [
          { services: 100, perService: 10, changes: 0 },
          { services: 1, perService: 1_000, changes: 20 },
        ];
    const results = [];
    for (const c of cases) {
      checkAborted(context.signal);
      results.push(await footprint(context, c.services, c.perService, c.changes));
    }
    const gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
    return {
      figures: { exposedGc: gc, cases: results },
      tables: [
        {
          title:
            'heap used over the baseline after full GCs; change applied: Consul PUT to the new list',
          header: ['watched', 'heap MB', 'bytes/instance', 'change applied p50 / p99 ms'],
          rows: results.map((r) => [
            `${r.services} x ${num(r.instancesPerService)}`,
            num(r.heapOverBaselineMb, 2),
            num(r.bytesPerInstance),
            r.applyMs
              ? `${num(r.applyMs.p50, 1)} / ${num(r.applyMs.p99, 1)} (${r.applyMs.samples})`
              : '-',
          ]),
        },
      ],
      notes: gc ? [] : ['Run without --expose-gc: heap figures include garbage.'],
    };
  },
};
