// The per-request walk of a chain Consul 1.16.3 compiled (fixture): router -> splitter ->
// resolver, failover in order, key-stable splits.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDiscoveryChain } from '../../src/traffic/discovery-chain';
import { describeTrafficMiss, isTrafficMiss, TrafficPlan } from '../../src/traffic/traffic-plan';
import type { TargetTable, TrafficChoice, TrafficMiss } from '../../src/traffic/traffic-plan';
import { mulberry32 } from '../support/seeded-random';

const chain = parseDiscoveryChain(
  JSON.parse(readFileSync(join(__dirname, 'fixtures/discovery-chain-web.json'), 'utf8')),
);
const V1 = 'v1.web.default.default.dc1';
const V2 = 'v2.web.default.default.dc1';
const OTHER = 'other.default.default.dc1';
const OTHER_DC2 = 'other.default.default.dc2';

interface Fake extends TargetTable {
  readonly id: string;
  hasInstances: boolean;
}

function plan(down: readonly string[] = []): TrafficPlan<Fake> {
  const tables = new Map<string, Fake>();
  for (const id of chain.targets.keys()) tables.set(id, { id, hasInstances: !down.includes(id) });
  return new TrafficPlan(chain, tables, mulberry32(11));
}

/** The choice, failing the test on a miss. */
function chosen(choice: TrafficChoice<Fake> | TrafficMiss): TrafficChoice<Fake> {
  if (isTrafficMiss(choice)) throw new Error(`missed: ${describeTrafficMiss(choice)}`);
  return choice;
}

const get = (url: string, headers: Record<string, string> = {}) => ({
  method: 'GET',
  url,
  headers,
});

describe('TrafficPlan.choose', () => {
  it('takes the first matching route, with its destination settings', () => {
    const choice = chosen(plan().choose(get('/admin/x', { 'x-debug': '1' }), undefined));
    expect(choice.targetId).toBe(V2);
    expect(choice.destination).toMatchObject({ numRetries: 3, requestTimeoutMs: 2_000 });
    expect(choice.destination?.retryOnStatusCodes).toEqual([503, 504]);
    expect(plan().choose(get('/health'), undefined).targetId).toBe(OTHER);
  });

  it('splits the catch-all route 90/10', () => {
    const p = plan();
    let v1 = 0;
    for (let i = 0; i < 10_000; i++) if (p.choose(get('/x'), undefined).targetId === V1) v1++;
    expect(Math.abs(v1 / 100 - 90)).toBeLessThanOrEqual(1.5);
  });

  it('keeps a key on one split', () => {
    const p = plan();
    for (const key of ['alice', 'bob', 'carol', 'dave']) {
      const first = p.choose(get('/x'), key).targetId;
      for (let i = 0; i < 50; i++) expect(p.choose(get('/x'), key).targetId).toBe(first);
    }
  });

  it('fails over in order to the first target with instances, and back', () => {
    const key = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].find(
      (k) => plan().choose(get('/x'), k).targetId === V1,
    )!;
    expect(plan([V1]).choose(get('/x'), key)).toMatchObject({ targetId: V2, failedOver: true });
    expect(plan([V1, V2]).choose(get('/x'), key)).toMatchObject({
      targetId: OTHER_DC2,
      failedOver: true,
    });
    // Nothing has instances: the resolver's own target (the call then fails as "no instance").
    expect(plan([V1, V2, OTHER_DC2]).choose(get('/x'), key)).toMatchObject({
      targetId: V1,
      failedOver: false,
    });
    expect(plan([V1]).failingOverTo(V1)).toBe(V2);
    expect(plan().failingOverTo(V1)).toBeUndefined();
  });

  it('applies PrefixRewrite so that the path stays a path (hostile review: "/" + "/evil.com/x")', () => {
    const json = JSON.parse(
      readFileSync(join(__dirname, 'fixtures/discovery-chain-web.json'), 'utf8'),
    ) as {
      Chain: { Nodes: Record<string, { Routes: { Definition: { Destination: object } }[] }> };
    };
    Object.assign(
      json.Chain.Nodes['router:web.default.default']!.Routes[0]!.Definition.Destination,
      {
        PrefixRewrite: '/',
      },
    );
    const rewritten = parseDiscoveryChain(json);
    const tables = new Map<string, Fake>();
    for (const id of rewritten.targets.keys()) tables.set(id, { id, hasInstances: true });
    const p = new TrafficPlan(rewritten, tables, mulberry32(3));
    expect(chosen(p.choose(get('/admin/users', { 'x-debug': '1' }), undefined)).path).toBe(
      '/users',
    );
    expect(chosen(p.choose(get('/admin//evil.com/x', { 'x-debug': '1' }), undefined)).path).toBe(
      '/evil.com/x',
    );
  });

  it('a target without a table (left out by chain-routing) is a miss naming it, not "no route matches"', () => {
    const tables = new Map<string, Fake>();
    for (const id of chain.targets.keys()) {
      if (id !== OTHER) tables.set(id, { id, hasInstances: true });
    }
    const p = new TrafficPlan(chain, tables, mulberry32(5));
    const miss = p.choose(get('/health'), undefined);
    expect(miss).toEqual({ miss: 'target_not_served', targetId: OTHER });
    expect(describeTrafficMiss(miss as TrafficMiss)).toMatch(
      /target 'other\.default\.default\.dc1', which this client does not serve/,
    );
    expect(chosen(p.choose(get('/admin/x', { 'x-debug': '1' }), undefined)).targetId).toBe(V2);
  });
});
