import { DiscoveryChainError } from '../../src/errors';
import { parseDiscoveryChain } from '../../src/traffic/discovery-chain';
import type { RouterNode, SplitterNode } from '../../src/traffic/discovery-chain';
import { modifyHeaders } from '../../src/traffic/header-modifiers';
import type { HeaderModifiers } from '../../src/traffic/header-modifiers';
import { TrafficPlan } from '../../src/traffic/traffic-plan';
import realChain from './fixtures/discovery-chain-web.json';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROUTER = 'router:web.default.default';
const SPLITTER = 'splitter:web.default.default';

const mod = (
  add: [string, string][] = [],
  set: [string, string][] = [],
  remove: string[] = [],
): HeaderModifiers => ({ add, set, remove });

describe('modifyHeaders', () => {
  it('removes first, then adds (another value), then sets (every value replaced)', () => {
    const out = modifyHeaders({ 'x-a': '1', 'x-gone': 'g', 'x-set': ['s1', 's2'] }, [
      mod(
        [
          ['x-a', '2'],
          ['x-new', 'n'],
        ],
        [['x-set', 'S']],
        ['x-gone', 'x-a'],
      ),
    ]);
    // x-a was removed before it was added: only the added value is left.
    expect({ ...out }).toEqual({ 'x-a': '2', 'x-new': 'n', 'x-set': 'S' });
  });

  it('adds to a header that stays as another value, not in its place', () => {
    const out = modifyHeaders({ 'x-a': '1' }, [mod([['x-a', '2']])]);
    expect(out['x-a']).toEqual(['1', '2']);
  });

  it("applies modifiers in order: the later (the route's) set wins over the earlier (a split's)", () => {
    const split = mod([], [['x-who', 'split']]);
    const route = mod([], [['x-who', 'route']]);
    expect(modifyHeaders({}, [split, route])['x-who']).toBe('route');
    expect(modifyHeaders({}, [route, split])['x-who']).toBe('split');
  });

  it("merges names differing only in case and never changes the caller's object", () => {
    const caller = { 'X-Trace': 'a', 'x-trace': 'b', Accept: 'text/plain' };
    const before = structuredClone(caller);
    const out = modifyHeaders(caller, [mod([], [], ['accept'])]);
    expect({ ...out }).toEqual({ 'x-trace': ['a', 'b'] });
    expect(caller).toEqual(before);
  });

  it('keeps headers named __proto__ and constructor as headers, in a plain object as undici answers', () => {
    const out = modifyHeaders({}, [mod([['constructor', 'c']], [['__proto__', 'v']])]);
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'constructor']);
    expect(out['__proto__']).toBe('v');
    expect(out['constructor']).toBe('c');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    // A plain object: what callers do with undici's headers works on these too.
    expect(Object.prototype.hasOwnProperty.call(out, 'constructor')).toBe(true);
  });
});

describe('header modifiers in a discovery chain', () => {
  const answer = (): Json => structuredClone(realChain);
  const refusal = (json: unknown): DiscoveryChainError => {
    try {
      parseDiscoveryChain(json);
    } catch (error) {
      expect(error).toBeInstanceOf(DiscoveryChainError);
      return error as DiscoveryChainError;
    }
    throw new Error('accepted');
  };

  it('reads a route and a split modifier with lower-cased names, in Consul order', () => {
    const json = answer();
    json.Chain.Nodes[ROUTER].Routes[3].Definition.Destination.RequestHeaders = {
      Add: { 'X-Route': 'r' },
      Set: { 'X-Both': 'route' },
      Remove: ['X-Secret'],
    };
    json.Chain.Nodes[SPLITTER].Splits[0].Definition.RequestHeaders = { Set: { 'X-Both': 'split' } };
    json.Chain.Nodes[SPLITTER].Splits[0].Definition.ResponseHeaders = { Add: { 'X-Canary': 'no' } };
    const chain = parseDiscoveryChain(json);
    const route = (chain.nodes.get(ROUTER) as RouterNode).routes[3]!;
    expect(route.destination?.requestHeaders).toEqual({
      add: [['x-route', 'r']],
      set: [['x-both', 'route']],
      remove: ['x-secret'],
    });
    const split = (chain.nodes.get(SPLITTER) as SplitterNode).splits[0]!;
    expect(split.responseHeaders).toEqual({ add: [['x-canary', 'no']], set: [], remove: [] });
  });

  it.each<[string, Json, RegExp]>([
    ['sets Host', { Set: { Host: 'evil.example' } }, /'host' cannot be changed/],
    ['removes host', { Remove: ['host'] }, /'host' cannot be changed/],
    ['sets Content-Length', { Set: { 'Content-Length': '0' } }, /'content-length' cannot/],
    ['adds Transfer-Encoding', { Add: { 'Transfer-Encoding': 'chunked' } }, /cannot be changed/],
    ['adds Connection', { Add: { Connection: 'close' } }, /cannot be changed/],
    ['names a pseudo-header', { Set: { ':authority': 'x' } }, /not an HTTP header name/],
    ['names a header with a space', { Set: { 'x a': '1' } }, /not an HTTP header name/],
    ['names an empty header', { Add: { '': '1' } }, /not an HTTP header name/],
    ['sets a value with CRLF', { Set: { 'x-a': 'ok\r\nx-injected: 1' } }, /CR, LF or NUL/],
    ['adds a value with NUL', { Add: { 'x-a': 'a\u0000b' } }, /CR, LF or NUL/],
    ['sets a value that is not text', { Set: { 'x-a': 1 } }, /must be a string/],
    // undici refuses every control character but tab: each call would fail, not the chain.
    ['sets a value with a control character', { Set: { 'x-a': 'a\u0001b' } }, /control/],
    ['adds a value with DEL', { Add: { 'x-a': 'a\u007fb' } }, /control/],
  ])('refuses a route that %s, naming the path', (_what, modifiers, reason) => {
    const json = answer();
    json.Chain.Nodes[ROUTER].Routes[3].Definition.Destination.RequestHeaders = modifiers;
    const error = refusal(json);
    expect(error.path).toContain(`Chain.Nodes["${ROUTER}"].Routes[3].Definition.Destination`);
    expect(error.reason).toMatch(reason);
  });

  it('sends a value beyond ASCII as its UTF-8 bytes, as Envoy puts it on the wire', () => {
    const json = answer();
    json.Chain.Nodes[ROUTER].Routes[3].Definition.Destination.RequestHeaders = {
      Set: { 'x-city': 'Zürich', 'x-snow': '\u2603' },
    };
    const chain = parseDiscoveryChain(json);
    const set = (chain.nodes.get(ROUTER) as RouterNode).routes[3]!.destination?.requestHeaders?.set;
    // undici writes a header string as latin1, one byte per character, and refuses beyond 0xff.
    expect(set).toEqual([
      ['x-city', Buffer.from('Zürich', 'utf8').toString('latin1')],
      ['x-snow', '\u00e2\u0098\u0083'],
    ]);
  });

  it('leaves out an Add or Set with an empty value, as Envoy does (Consul sets no keep_empty_value)', () => {
    const json = answer();
    json.Chain.Nodes[ROUTER].Routes[3].Definition.Destination.RequestHeaders = {
      Add: { 'x-empty': '' },
      Set: { 'x-auth': '', 'x-who': 'route' },
    };
    json.Chain.Nodes[SPLITTER].Splits[0].Definition.ResponseHeaders = { Set: { 'x-a': '' } };
    const chain = parseDiscoveryChain(json);
    const route = (chain.nodes.get(ROUTER) as RouterNode).routes[3]!;
    expect(route.destination?.requestHeaders).toEqual({
      add: [],
      set: [['x-who', 'route']],
      remove: [],
    });
    // Nothing left to do: no modifier at all.
    expect((chain.nodes.get(SPLITTER) as SplitterNode).splits[0]!.responseHeaders).toBeUndefined();
  });

  it('refuses a split whose response modifier breaks a header', () => {
    const json = answer();
    json.Chain.Nodes[SPLITTER].Splits[1].Definition.ResponseHeaders = {
      Set: { 'set-cookie': 'a\nb' },
    };
    expect(refusal(json).path).toContain(`Chain.Nodes["${SPLITTER}"].Splits[1].Definition`);
  });
});

describe('TrafficPlan.choose with header modifiers', () => {
  it("hands the splits' modifiers, then the route's, for request and response", () => {
    const json = structuredClone(realChain) as Json;
    const routeRequest = { Set: { 'x-who': 'route' } };
    const routeResponse = { Remove: ['server'] };
    json.Chain.Nodes[ROUTER].Routes[3].Definition.Destination.RequestHeaders = routeRequest;
    json.Chain.Nodes[ROUTER].Routes[3].Definition.Destination.ResponseHeaders = routeResponse;
    for (const split of json.Chain.Nodes[SPLITTER].Splits) {
      split.Definition.RequestHeaders = { Set: { 'x-who': 'split' }, Add: { 'x-split': 'yes' } };
    }
    const chain = parseDiscoveryChain(json);
    const tables = new Map([...chain.targets.keys()].map((id) => [id, { hasInstances: true }]));
    const plan = new TrafficPlan(chain, tables, () => 0);
    const choice = plan.choose({ method: 'GET', url: '/', headers: {} }, undefined);
    if ('miss' in choice) throw new Error('no target');
    expect(modifyHeaders({}, choice.requestHeaders!)).toEqual({
      'x-who': 'route',
      'x-split': 'yes',
    });
    expect(choice.responseHeaders).toEqual([{ add: [], set: [], remove: ['server'] }]);

    // A route without modifiers (/health to the other service) hands none: nothing to copy.
    const health = plan.choose({ method: 'GET', url: '/health', headers: {} }, undefined);
    if ('miss' in health) throw new Error('no target');
    expect(health.targetId).toBe('other.default.default.dc1');
    expect(health.requestHeaders).toBeUndefined();
    expect(health.responseHeaders).toBeUndefined();
  });
});
