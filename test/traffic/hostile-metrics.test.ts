// Hostile review of issue #15: target ids are Consul's (whoever writes config entries picks
// them), so the `target` label must stay bounded whatever they look like, and a target that
// leaves and comes back must get its series back.
import { Registry } from 'prom-client';
import { ExpressConsulMetrics, chainTargetMetrics } from '../../src/metrics/express-consul-metrics';
import { MAX_TARGET_LABELS, OTHER_TARGET } from '../../src/metrics/target-metrics';

async function targetSeries(registry: Registry): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric('express_consul_client_target_requests_total')!;
  const { values } = await metric.get();
  return new Map(values.map((v) => [`${v.labels.service}/${v.labels.target}`, v.value]));
}

/** Counts one call on each of `ids` through a chain's metrics, as a plan's choices would. */
function countOnce(children: ReadonlyMap<string, { inc(): void }>): void {
  for (const child of children.values()) child.inc();
}

describe('target label of client_target_requests_total under hostile target ids', () => {
  it('long, unicode, control and label-breaking ids share `other`; the bound holds over many chains', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const hostile = [
      'v1.web.default.default.dc1'.repeat(10), // 260 chars
      'v1.wéb.default.default.dc1',
      'v1.web\n# HELP forged',
      'v1.web"} 1\nx{a="',
      '',
    ];
    const chains = Array.from({ length: 8 }, () => chainTargetMetrics(metrics, 'web'));
    // Eight chains of the same service, each with its own 10 plain ids and the hostile ones.
    chains.forEach((chain, c) =>
      countOnce(
        chain.follow([...Array.from({ length: 10 }, (_, i) => `t${c}-${i}.web.dc1`), ...hostile]),
      ),
    );
    const series = await targetSeries(registry);
    const web = [...series.keys()].filter((key) => key.startsWith('web/'));
    expect(web).toHaveLength(MAX_TARGET_LABELS + 1);
    expect(web).toContain(`web/${OTHER_TARGET}`);
    // 80 plain ids + 5 hostile ones counted 8 times: 120 calls, none lost.
    expect([...series.values()].reduce((a, b) => a + b, 0)).toBe(80 + hostile.length * 8);
    for (const key of web) expect(key.slice(4)).toMatch(/^[A-Za-z0-9_.-]{1,160}$/);
    for (const chain of chains) chain.close();
    expect((await targetSeries(registry)).size).toBe(0);
  });

  it('a target that leaves the chain and comes back gets its series back, counting from 0', async () => {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const chain = chainTargetMetrics(metrics, 'web');
    const a = 'v1.web.default.default.dc1';
    const b = 'v2.web.default.default.dc1';
    countOnce(chain.follow([a, b]));
    countOnce(chain.follow([a, b]));
    expect(await targetSeries(registry)).toEqual(
      new Map([
        [`web/${a}`, 2],
        [`web/${b}`, 2],
      ]),
    );
    countOnce(chain.follow([a])); // b left
    expect(await targetSeries(registry)).toEqual(new Map([[`web/${a}`, 3]]));
    countOnce(chain.follow([a, b])); // b is back
    expect(await targetSeries(registry)).toEqual(
      new Map([
        [`web/${a}`, 4],
        [`web/${b}`, 1],
      ]),
    );
    chain.close();
  });
});
