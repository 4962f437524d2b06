import { Registry } from 'prom-client';
import { chainTargetMetrics, ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import { parsePrometheusText } from '../support/prometheus-text';

const NAME = 'express_consul_client_target_requests_total';

/** `target -> value` of the service's target series in the exposition. */
async function targets(registry: Registry, service: string): Promise<Record<string, number>> {
  const { samples } = parsePrometheusText(await registry.metrics());
  return Object.fromEntries(
    samples
      .filter((s) => s.name === NAME && s.labels.service === service)
      .map((s) => [s.labels.target!, s.value]),
  );
}

describe('client_target_requests_total', () => {
  it('counts per target, and a target that leaves the chain loses its series', async () => {
    const registry = new Registry();
    const chain = chainTargetMetrics(new ExpressConsulMetrics(registry), 'web');
    const first = chain.follow(['v1.web.default.default.dc1', 'v2.web.default.default.dc1']);
    for (let i = 0; i < 9; i++) first.get('v1.web.default.default.dc1')!.inc();
    first.get('v2.web.default.default.dc1')!.inc();
    expect(await targets(registry, 'web')).toEqual({
      'v1.web.default.default.dc1': 9,
      'v2.web.default.default.dc1': 1,
    });
    const second = chain.follow(['v1.web.default.default.dc1']);
    // The staying target keeps its child and its count.
    expect(second.get('v1.web.default.default.dc1')).toBe(first.get('v1.web.default.default.dc1'));
    expect(await targets(registry, 'web')).toEqual({ 'v1.web.default.default.dc1': 9 });
    chain.close();
    chain.close();
    expect(await targets(registry, 'web')).toEqual({});
  });

  it('at most 16 targets per service have a label of their own; the others, and odd ids, share other', async () => {
    const registry = new Registry();
    const chain = chainTargetMetrics(new ExpressConsulMetrics(registry), 'web');
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}.web.default.default.dc1`);
    const hostile = ['evil\x1b[2J.web', `${'a'.repeat(161)}`, 'spaced id', ''];
    const children = chain.follow([...ids, ...hostile]);
    for (const child of children.values()) child.inc();
    const seen = await targets(registry, 'web');
    expect(Object.keys(seen)).toHaveLength(17);
    expect(seen.other).toBe(4 + 4);
    for (const id of ids.slice(0, 16)) expect(seen[id]).toBe(1);
    // Slots freed by targets that leave go to newcomers of the same change.
    const next = chain.follow([...ids.slice(8), 'late.web.default.default.dc1']);
    next.get('late.web.default.default.dc1')!.inc();
    const after = await targets(registry, 'web');
    expect(after['late.web.default.default.dc1']).toBe(1);
    expect(Object.keys(after)).not.toContain(ids[0]);
    // No target counts under `other` any more: its series goes too.
    chain.follow(['only.web.default.default.dc1']);
    expect(Object.keys(await targets(registry, 'web'))).toEqual([]);
    chain.follow(['only.web.default.default.dc1']).get('only.web.default.default.dc1')!.inc();
    expect(await targets(registry, 'web')).toEqual({ 'only.web.default.default.dc1': 1 });
    chain.close();
  });

  it('two chains of one service share the series until the last lets go', async () => {
    const registry = new Registry();
    const one = chainTargetMetrics(new ExpressConsulMetrics(registry), 'web');
    const two = chainTargetMetrics(new ExpressConsulMetrics(registry), 'web');
    one.follow(['v1.web']).get('v1.web')!.inc();
    two.follow(['v1.web']).get('v1.web')!.inc();
    expect(await targets(registry, 'web')).toEqual({ 'v1.web': 2 });
    one.close();
    expect(await targets(registry, 'web')).toEqual({ 'v1.web': 2 });
    two.close();
    expect(await targets(registry, 'web')).toEqual({});
    // A closed chain counts nothing back into being.
    expect(one.follow(['v1.web']).size).toBe(0);
  });
});
