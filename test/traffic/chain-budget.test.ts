// The chain-wide bounds of CHAIN_LIMITS (hostile review of issue #15): a 26 MB chain ran V8 out of
// memory, 16 header regexes against an 8 KB header blocked the loop 1.5 s. A chain beyond a bound
// is refused naming the path (the chain watch then keeps the last good one); a request never runs
// a regex on more than maxRegexInputChars.
import { DiscoveryChainError } from '../../src/errors';
import { BlockingValue } from '../../src/traffic/blocking-value';
import { CHAIN_LIMITS, parseDiscoveryChain } from '../../src/traffic/discovery-chain';
import type { DiscoveryChain, RouterNode } from '../../src/traffic/discovery-chain';
import { matchRoute } from '../../src/traffic/route-match';
import { waitFor } from '../../harness/wait-for';
import realChain from './fixtures/discovery-chain-web.json';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ROUTER = 'router:web.default.default';

/** A chain whose router has one route per header rule (all to the fixture's first route's node). */
function withHeaderRules(rules: object[], perRoute = 1): Json {
  const answer: Json = structuredClone(realChain);
  const router = answer.Chain.Nodes[ROUTER];
  // The fixture's own PathRegex would count against the budget too: the counts here are exact.
  for (const route of router.Routes) {
    const http = route.Definition.Match?.HTTP;
    if (http?.PathRegex !== undefined) {
      delete http.PathRegex;
      http.PathPrefix = '/no-regex';
    }
  }
  const next = router.Routes[0].NextNode;
  const routes: object[] = [];
  for (let i = 0; i < rules.length; i += perRoute) {
    routes.push({
      Definition: { Match: { HTTP: { Header: rules.slice(i, i + perRoute) } } },
      NextNode: next,
    });
  }
  router.Routes = [...routes, ...router.Routes];
  return answer;
}

const regexRule = (pattern: string, name = 'x-probe'): object => ({ Name: name, Regex: pattern });

function refusal(json: unknown, answerChars = 0): DiscoveryChainError {
  try {
    parseDiscoveryChain(json, answerChars);
  } catch (error) {
    expect(error).toBeInstanceOf(DiscoveryChainError);
    return error as DiscoveryChainError;
  }
  throw new Error('accepted');
}

describe('chain-wide bounds (CHAIN_LIMITS)', () => {
  it('refuses an answer larger than maxAnswerChars, and the watch keeps the last good chain', async () => {
    const good = structuredClone(realChain) as Json;
    // Ignored fields (ServiceMeta) are where a big answer hides: every string is within bounds.
    const big: Json = structuredClone(realChain);
    big.Chain.ServiceMeta = {};
    for (let i = 0; big.Chain.ServiceMeta && i < 300; i++) {
      big.Chain.ServiceMeta[`k${i}`] = 'v'.repeat(4_000);
    }
    big.Chain.Nodes[ROUTER].Routes[0].Definition.Match.HTTP.Header[0].Exact = 'changed';
    const bodyChars = JSON.stringify(big).length;
    expect(bodyChars).toBeGreaterThan(CHAIN_LIMITS.maxAnswerChars);

    const steps = [
      { data: good, index: 10 },
      { data: big, index: 11 },
    ];
    const changes: DiscoveryChain[] = [];
    const watch = new BlockingValue<DiscoveryChain>({
      what: 'discovery chain of web',
      read: async (_index, _waitMs, signal) => {
        const step = steps.shift();
        if (step !== undefined) return step;
        await new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        throw new Error('closed');
      },
      parse: parseDiscoveryChain,
      waitMs: 1_000,
      minUpdateIntervalMs: 0,
      backoff: { baseMs: 1, maxMs: 2 },
      logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    watch.onChange((chain) => changes.push(chain));
    watch.start();
    try {
      await waitFor('the big answer was refused', () =>
        watch.status().refused ? true : undefined,
      );
      expect(watch.status().lastRefusal).toMatch(/^Discovery chain answer: is \d+ characters/);
      expect(changes).toHaveLength(1);
      const header = (watch.value!.nodes.get(ROUTER) as RouterNode).routes[0]!.match!.headers[0]!;
      expect(header).toMatchObject({ kind: 'exact', value: '1' });
    } finally {
      await watch.close();
    }
  });

  it(`refuses regex number ${CHAIN_LIMITS.maxRegexes + 1}, naming it; accepts ${CHAIN_LIMITS.maxRegexes}`, () => {
    const rules = (n: number): object[] =>
      Array.from({ length: n }, (_, i) => regexRule(`v${i}`, `h${i}`));
    expect(() =>
      parseDiscoveryChain(withHeaderRules(rules(CHAIN_LIMITS.maxRegexes))),
    ).not.toThrow();
    const error = refusal(withHeaderRules(rules(CHAIN_LIMITS.maxRegexes + 1)));
    expect(error.path).toBe(
      `Chain.Nodes["${ROUTER}"].Routes[${CHAIN_LIMITS.maxRegexes}]` +
        '.Definition.Match.HTTP.Header[0].Regex',
    );
    expect(error.reason).toMatch(/more than 32 in a chain/);
  });

  it('refuses patterns over maxRegexSourceChars together, though each is short enough', () => {
    const half = Math.floor(CHAIN_LIMITS.maxRegexSourceChars / 2) + 1;
    expect(half).toBeLessThanOrEqual(CHAIN_LIMITS.maxStringLength);
    // Empty groups compile to no instruction: only the source size is at stake.
    const literal = '(?:)'.repeat(Math.ceil(half / 4));
    expect(() => parseDiscoveryChain(withHeaderRules([regexRule(literal)]))).not.toThrow();
    const error = refusal(withHeaderRules([regexRule(literal), regexRule(literal)], 2));
    expect(error.path).toMatch(/Header\[1\]\.Regex$/);
    expect(error.reason).toMatch(/regex patterns to \d+ characters, more than 4096/);
  });

  it('refuses regexes over maxRegexProgram instructions together', () => {
    // ~2 instructions per repeated `a?`: one such pattern fits, two do not.
    const pattern = '(?:a?){300}';
    expect(() => parseDiscoveryChain(withHeaderRules([regexRule(pattern)]))).not.toThrow();
    const error = refusal(
      withHeaderRules([regexRule(pattern), regexRule(pattern, 'h2'), regexRule(pattern, 'h3')]),
    );
    expect(error.path).toMatch(/Header\[0\]\.Regex$/);
    expect(error.reason).toMatch(/instructions, more than 1000/);
  });

  it(`refuses more than ${CHAIN_LIMITS.maxTargetWatches} targets to watch; peer targets do not count`, () => {
    const chainWith = (targets: number, peers: number): Json => {
      const answer: Json = structuredClone(realChain);
      for (let i = 0; i < targets + peers; i++) {
        answer.Chain.Targets[`extra${i}.web.default.default.dc1`] = {
          Service: 'web',
          Datacenter: 'dc1',
          ...(i >= targets && { Peer: 'other-cluster' }),
        };
      }
      return answer;
    };
    const own = Object.keys(realChain.Chain.Targets).length;
    const room = CHAIN_LIMITS.maxTargetWatches - own;
    expect(() => parseDiscoveryChain(chainWith(room, 10))).not.toThrow();
    const error = refusal(chainWith(room + 1, 0));
    expect(error.path).toBe('Chain.Targets');
    expect(error.reason).toBe(
      `has ${CHAIN_LIMITS.maxTargetWatches + 1} targets to watch, more than 32 in a chain`,
    );
  });

  it('never runs a regex on more than maxRegexInputChars: a longer value does not match', () => {
    const chain = parseDiscoveryChain(withHeaderRules([regexRule('a*')]));
    const router = chain.nodes.get(ROUTER) as RouterNode;
    const at = (length: number): number =>
      matchRoute(router, {
        method: 'GET',
        url: '/',
        headers: { 'x-probe': 'a'.repeat(length) },
      })!.index;
    expect(at(CHAIN_LIMITS.maxRegexInputChars)).toBe(0);
    expect(at(CHAIN_LIMITS.maxRegexInputChars + 1)).not.toBe(0);
  });

  it('a chain at the regex budget costs a bounded time per request, whatever the header size', () => {
    // The costliest shape found: `.*` keeps every thread of the NFA alive on every character.
    const pattern = '.*(?:.?){247}x'; // 499 instructions each: the two are the whole budget
    const rules = Array.from({ length: 2 }, (_, i) => regexRule(pattern, `h${i}`));
    const chain = parseDiscoveryChain(withHeaderRules(rules, 2));
    const router = chain.nodes.get(ROUTER) as RouterNode;
    const timed = (length: number): number => {
      const value = 'a'.repeat(length);
      const started = performance.now();
      matchRoute(router, { method: 'GET', url: '/', headers: { h0: value, h1: value } });
      return performance.now() - started;
    };
    timed(64); // compile the matcher's code paths before timing them
    const atBound = timed(CHAIN_LIMITS.maxRegexInputChars);
    const huge = timed(8_192);
    process.stdout.write(
      `route match at the regex budget: ${atBound.toFixed(1)} ms with 1 KB headers, ` +
        `${huge.toFixed(1)} ms with 8 KB headers\n`,
    );
    expect(atBound).toBeLessThan(250);
    expect(huge).toBeLessThan(5);
  });
});
