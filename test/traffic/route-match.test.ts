import { parseDiscoveryChain } from '../../src/traffic/discovery-chain';
import type { RouterNode } from '../../src/traffic/discovery-chain';
import { matchRoute } from '../../src/traffic/route-match';
import type { RouteRequest } from '../../src/traffic/route-match';

/** A router compiled from `routes` (Consul's chain shape), with Consul's catch-all appended. */
function router(routes: object[]): RouterNode {
  const chain = parseDiscoveryChain({
    Chain: {
      ServiceName: 'web',
      StartNode: 'router:web',
      Nodes: {
        'router:web': {
          Type: 'router',
          Name: 'web',
          Routes: [
            ...routes.map((match) => ({
              Definition: { Match: { HTTP: match } },
              NextNode: 'resolver:web',
            })),
            { Definition: { Match: { HTTP: { PathPrefix: '/' } } }, NextNode: 'resolver:web' },
          ],
        },
        'resolver:web': { Type: 'resolver', Name: 'web', Resolver: { Target: 'web' } },
      },
      Targets: { web: { ID: 'web', Service: 'web' } },
    },
  });
  return chain.nodes.get('router:web') as RouterNode;
}

const request = (url: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({
  method: 'GET',
  url,
  headers: {},
  ...extra,
});

/** Index of the chosen route: 0 for the rule under test, 1 for the catch-all. */
const pick = (match: object, req: RouteRequest): number => matchRoute(router([match]), req)!.index;

describe('matchRoute', () => {
  it('tries routes in order; the first that holds wins', () => {
    const r = router([{ PathPrefix: '/a' }, { PathPrefix: '/a/b' }]);
    expect(matchRoute(r, request('/a/b'))!.index).toBe(0);
    expect(matchRoute(r, request('/z'))!.index).toBe(2);
  });

  it('PathExact ignores the query string and is case-sensitive', () => {
    expect(pick({ PathExact: '/health' }, request('/health?full=1'))).toBe(0);
    expect(pick({ PathExact: '/health' }, request('/health/'))).toBe(1);
    expect(pick({ PathExact: '/health' }, request('/Health'))).toBe(1);
  });

  it('PathPrefix is a plain string prefix of the request target', () => {
    expect(pick({ PathPrefix: '/api' }, request('/api/v1'))).toBe(0);
    expect(pick({ PathPrefix: '/api' }, request('/apiary'))).toBe(0); // no segment logic in Envoy
    expect(pick({ PathPrefix: '/api/' }, request('/API/x'))).toBe(1);
  });

  it('PathRegex must match the whole path, without the query string', () => {
    expect(pick({ PathRegex: '/v[0-9]+' }, request('/v2'))).toBe(0);
    expect(pick({ PathRegex: '/v[0-9]+' }, request('/v2/x'))).toBe(1);
    expect(pick({ PathRegex: '/v[0-9]+' }, request('/v2?x=1'))).toBe(0);
  });

  it('Methods must contain the request method, compared exactly', () => {
    expect(pick({ Methods: ['GET', 'PUT'] }, request('/', { method: 'PUT' }))).toBe(0);
    expect(pick({ Methods: ['GET', 'PUT'] }, request('/', { method: 'POST' }))).toBe(1);
    expect(pick({ Methods: ['GET'] }, request('/', { method: 'get' }))).toBe(1);
  });

  it('header rules: names in any case, values case-sensitive; present/exact/prefix/suffix/regex', () => {
    const h = (headers: RouteRequest['headers']): RouteRequest => request('/', { headers });
    expect(pick({ Header: [{ Name: 'X-Env', Present: true }] }, h({ 'x-env': '' }))).toBe(0);
    expect(pick({ Header: [{ Name: 'X-Env', Present: true }] }, h({}))).toBe(1);
    expect(pick({ Header: [{ Name: 'x-env', Exact: 'Prod' }] }, h({ 'X-ENV': 'Prod' }))).toBe(0);
    expect(pick({ Header: [{ Name: 'x-env', Exact: 'Prod' }] }, h({ 'x-env': 'prod' }))).toBe(1);
    expect(pick({ Header: [{ Name: 'x-env', Prefix: 'pr' }] }, h({ 'x-env': 'prod' }))).toBe(0);
    expect(pick({ Header: [{ Name: 'x-env', Suffix: 'od' }] }, h({ 'x-env': 'prod' }))).toBe(0);
    expect(pick({ Header: [{ Name: 'x-env', Suffix: 'pr' }] }, h({ 'x-env': 'prod' }))).toBe(1);
    expect(pick({ Header: [{ Name: 'x-v', Regex: '[0-9]+' }] }, h({ 'x-v': '12' }))).toBe(0);
    expect(pick({ Header: [{ Name: 'x-v', Regex: '[0-9]+' }] }, h({ 'x-v': '12a' }))).toBe(1);
  });

  it('Invert flips a header rule, so a rule on an absent header holds when inverted', () => {
    const h = (headers: RouteRequest['headers']): RouteRequest => request('/', { headers });
    const notCurl = { Header: [{ Name: 'user-agent', Prefix: 'curl', Invert: true }] };
    expect(pick(notCurl, h({ 'user-agent': 'curl/8' }))).toBe(1);
    expect(pick(notCurl, h({ 'user-agent': 'probe' }))).toBe(0);
    expect(pick(notCurl, h({}))).toBe(0);
    expect(pick({ Header: [{ Name: 'x', Present: true, Invert: true }] }, h({}))).toBe(0);
  });

  it('repeated header values are matched joined with ","', () => {
    const rule = { Header: [{ Name: 'x-tag', Exact: 'a,b' }] };
    expect(pick(rule, request('/', { headers: { 'x-tag': ['a', 'b'] } }))).toBe(0);
  });

  it('every header and query rule must hold', () => {
    const rule = {
      Header: [
        { Name: 'a', Exact: '1' },
        { Name: 'b', Exact: '2' },
      ],
    };
    expect(pick(rule, request('/', { headers: { a: '1', b: '2' } }))).toBe(0);
    expect(pick(rule, request('/', { headers: { a: '1' } }))).toBe(1);
  });

  it('query rules: present, exact on the decoded first value, regex as a full match', () => {
    expect(pick({ QueryParam: [{ Name: 'debug', Present: true }] }, request('/?debug'))).toBe(0);
    expect(pick({ QueryParam: [{ Name: 'debug', Present: true }] }, request('/?other=1'))).toBe(1);
    expect(pick({ QueryParam: [{ Name: 'u', Exact: 'a b' }] }, request('/?u=a%20b'))).toBe(0);
    expect(pick({ QueryParam: [{ Name: 'u', Exact: 'x' }] }, request('/?u=x&u=y'))).toBe(0);
    expect(pick({ QueryParam: [{ Name: 'u', Exact: 'y' }] }, request('/?u=x&u=y'))).toBe(1);
    expect(pick({ QueryParam: [{ Name: 'n', Regex: '[0-9]+' }] }, request('/?n=42'))).toBe(0);
    expect(pick({ QueryParam: [{ Name: 'n', Regex: '[0-9]+' }] }, request('/?n=42x'))).toBe(1);
    expect(pick({ QueryParam: [{ Name: 'n', Exact: '%zz' }] }, request('/?n=%zz'))).toBe(0);
  });

  it('all conditions of a route must hold together', () => {
    const rule = { PathPrefix: '/admin', Methods: ['POST'], Header: [{ Name: 'x', Exact: '1' }] };
    expect(pick(rule, request('/admin', { method: 'POST', headers: { x: '1' } }))).toBe(0);
    expect(pick(rule, request('/admin', { method: 'GET', headers: { x: '1' } }))).toBe(1);
    expect(pick(rule, request('/other', { method: 'POST', headers: { x: '1' } }))).toBe(1);
  });
});
