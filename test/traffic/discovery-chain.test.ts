import fc from 'fast-check';
import { DiscoveryChainError } from '../../src/errors';
import { CHAIN_LIMITS, parseDiscoveryChain } from '../../src/traffic/discovery-chain';
import type { RouterNode } from '../../src/traffic/discovery-chain';
import realChain from './fixtures/discovery-chain-web.json';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A fresh copy of the real answer (test/traffic/fixtures, from Consul 1.16.3) to damage. */
const answer = (): Json => structuredClone(realChain);
const ROUTER = 'router:web.default.default';
const SPLITTER = 'splitter:web.default.default';
const V1 = 'resolver:v1.web.default.default.dc1';
const V1_TARGET = 'v1.web.default.default.dc1';

function refusal(json: unknown): DiscoveryChainError {
  try {
    parseDiscoveryChain(json);
  } catch (error) {
    expect(error).toBeInstanceOf(DiscoveryChainError);
    return error as DiscoveryChainError;
  }
  throw new Error('accepted');
}

describe('parseDiscoveryChain', () => {
  it('models the real answer: nodes, targets, durations in ms, parsed filters', () => {
    const chain = parseDiscoveryChain(answer());
    expect(chain.startNode).toBe(ROUTER);
    expect((chain.nodes.get(ROUTER) as RouterNode).routes).toHaveLength(4);
    expect(chain.nodes.get(V1)).toMatchObject({ requestTimeoutMs: 7_000, connectTimeoutMs: 3_000 });
    expect(
      chain.targets.get(V1_TARGET)?.filter.matches({ Service: { Meta: { version: '1' } } }),
    ).toBe(true);
  });

  it('is frozen all the way down, maps included', () => {
    const chain = parseDiscoveryChain(answer());
    const router = chain.nodes.get(ROUTER) as RouterNode;
    expect(Object.isFrozen(router.routes[0]!.match!.headers[0])).toBe(true);
    expect(() => (chain.nodes as Map<string, unknown>).set('x', {})).toThrow(TypeError);
    expect(() => (chain.targets as Map<string, unknown>).delete(V1_TARGET)).toThrow(TypeError);
  });

  it.each<[string, (a: Json) => void, string, RegExp]>([
    ['a non-object answer', (a) => (a.Chain = 'x'), 'Chain', /must be an object/],
    [
      'a StartNode naming no node',
      (a) => (a.Chain.StartNode = 'router:nope'),
      'Chain.StartNode',
      /names no node/,
    ],
    [
      'a route to a missing node',
      (a) => (a.Chain.Nodes[ROUTER].Routes[1].NextNode = 'resolver:ghost'),
      `Chain.Nodes["${ROUTER}"].Routes[1].NextNode`,
      /names no node/,
    ],
    [
      'a resolver naming a missing target',
      (a) => delete a.Chain.Targets[V1_TARGET],
      `Chain.Nodes["${V1}"].Resolver.Target`,
      /names no target/,
    ],
    [
      'a failover to a missing target',
      (a) => (a.Chain.Nodes[V1].Resolver.Failover.Targets[1] = 'ghost.default.default.dc9'),
      `Chain.Nodes["${V1}"].Resolver.Failover.Targets[1]`,
      /names no target/,
    ],
    [
      'weights summing to 95',
      (a) => (a.Chain.Nodes[SPLITTER].Splits[1].Weight = 5),
      `Chain.Nodes["${SPLITTER}"].Splits`,
      /sum to 100 \(got 95\)/,
    ],
    [
      'a weight above 100',
      (a) => (a.Chain.Nodes[SPLITTER].Splits[0].Weight = 190),
      `Chain.Nodes["${SPLITTER}"].Splits[0].Weight`,
      /from 0 to 100/,
    ],
    [
      'a non-finite number (as JSON cannot carry, but a decoder might)',
      (a) => (a.Chain.Nodes[ROUTER].Routes[0].Definition.Destination.NumRetries = Infinity),
      `Chain.Nodes["${ROUTER}"].Routes[0].Definition.Destination.NumRetries`,
      /finite number/,
    ],
    ...['//evil.com/', 'http://evil.com/', 'api/', '/a\r\nHost: evil.com', '/a b'].map(
      (rewrite): [string, (a: Json) => void, string, RegExp] => [
        `a PrefixRewrite ${JSON.stringify(rewrite)} (hostile review: it could change the request's host)`,
        (a) => (a.Chain.Nodes[ROUTER].Routes[0].Definition.Destination.PrefixRewrite = rewrite),
        `Chain.Nodes["${ROUTER}"].Routes[0].Definition.Destination.PrefixRewrite`,
        /origin-form path/,
      ],
    ),
    [
      'a bad Go duration',
      (a) => (a.Chain.Nodes[V1].Resolver.ConnectTimeout = '3 seconds'),
      `Chain.Nodes["${V1}"].Resolver.ConnectTimeout`,
      /Go duration/,
    ],
    [
      'a huge string',
      (a) => (a.Chain.ServiceName = 'w'.repeat(CHAIN_LIMITS.maxStringLength + 1)),
      'Chain.ServiceName',
      /longer than/,
    ],
    [
      'a filter Consul would refuse',
      (a) => (a.Chain.Targets[V1_TARGET].Subset.Filter = 'Service.Port matches "1"'),
      `Chain.Targets["${V1_TARGET}"].Subset.Filter`,
      /filter refused at offset 0: Invalid match operator/,
    ],
    [
      'a hostile route regex',
      (a) => (a.Chain.Nodes[ROUTER].Routes[1].Definition.Match.HTTP.PathRegex = '(a)\\1'),
      `Chain.Nodes["${ROUTER}"].Routes[1].Definition.Match.HTTP.PathRegex`,
      /invalid regular expression/,
    ],
    [
      'a header match with two rules',
      (a) => (a.Chain.Nodes[ROUTER].Routes[0].Definition.Match.HTTP.Header[0].Prefix = 'x'),
      `Chain.Nodes["${ROUTER}"].Routes[0].Definition.Match.HTTP.Header[0]`,
      /exactly one of Present, Exact, Prefix, Suffix, Regex \(got 2\)/,
    ],
    [
      'a lower-case method',
      (a) => (a.Chain.Nodes[ROUTER].Routes[0].Definition.Match.HTTP.Methods[0] = 'get'),
      `Chain.Nodes["${ROUTER}"].Routes[0].Definition.Match.HTTP.Methods[0]`,
      /HTTP method/,
    ],
    [
      'a node key that is not Type:Name',
      (a) => (a.Chain.Nodes[V1].Name = 'v9.web.default.default.dc1'),
      `Chain.Nodes["${V1}"]`,
      /key must be/,
    ],
    [
      'an unknown node type',
      (a) => {
        a.Chain.Nodes['gateway:x'] = { Type: 'gateway', Name: 'x' };
      },
      'Chain.Nodes["gateway:x"].Type',
      /router, splitter or resolver/,
    ],
    [
      'a router leading to a router',
      (a) => {
        a.Chain.Nodes['router:r2'] = {
          Type: 'router',
          Name: 'r2',
          Routes: [{ NextNode: SPLITTER }],
        };
        a.Chain.Nodes[ROUTER].Routes[0].NextNode = 'router:r2';
      },
      `Chain.Nodes["${ROUTER}"].Routes[0].NextNode`,
      /must lead to a splitter or a resolver/,
    ],
    [
      'a cycle of splitters',
      (a) => {
        a.Chain.Nodes['splitter:s2'] = {
          Type: 'splitter',
          Name: 's2',
          Splits: [{ Weight: 100, NextNode: SPLITTER }],
        };
        a.Chain.Nodes[SPLITTER].Splits[1].NextNode = 'splitter:s2';
      },
      'NextNode',
      /closes a cycle/,
    ],
    [
      'too many targets',
      (a) => {
        for (let i = 0; i <= CHAIN_LIMITS.maxTargets; i++) a.Chain.Targets[`t${i}`] = {};
      },
      'Chain.Targets',
      /more than/,
    ],
    [
      'a target whose ID differs from its key',
      (a) => (a.Chain.Targets[V1_TARGET].ID = 'other'),
      `Chain.Targets["${V1_TARGET}"].ID`,
      /differs/,
    ],
  ])('refuses %s, naming the path', (_what, damage, path, reason) => {
    const json = answer();
    damage(json);
    const error = refusal(json);
    expect(error.path).toContain(path);
    expect(error.reason).toMatch(reason);
    expect(error.code).toBe('EXPRESS_CONSUL_DISCOVERY_CHAIN');
  });

  it('never throws anything but DiscoveryChainError, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        try {
          parseDiscoveryChain(json);
        } catch (error) {
          expect(error).toBeInstanceOf(DiscoveryChainError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but DiscoveryChainError when one field of the real answer is replaced', () => {
    const paths: string[][] = [];
    const collect = (value: unknown, path: string[]): void => {
      paths.push(path);
      if (typeof value === 'object' && value !== null) {
        for (const [key, child] of Object.entries(value)) collect(child, [...path, key]);
      }
    };
    collect(realChain, []);
    fc.assert(
      fc.property(
        fc.constantFrom(...paths.filter((p) => p.length > 0)),
        fc.jsonValue(),
        (path, value) => {
          const json = answer();
          let at = json;
          for (const key of path.slice(0, -1)) at = at[key];
          at[path[path.length - 1]!] = value;
          try {
            parseDiscoveryChain(json);
          } catch (error) {
            expect(error).toBeInstanceOf(DiscoveryChainError);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
