// Which route of a compiled service-router takes a request, with the semantics Envoy gives the
// routes Consul generates from the chain (Consul 1.16.3 agent/xds/routes.go):
// - routes are tried in order, the first whose every condition holds wins; Consul appends a
//   catch-all route (PathPrefix "/") so a chain's router always has an answer;
// - PathExact and PathRegex apply to the path without its query string, PathPrefix to the whole
//   request target (Envoy's `prefix` sees `:path` as sent); all are case-sensitive;
//   regexes must match the whole path (RE2 full match), not a part of it;
// - header names are case-insensitive, values case-sensitive; repeated headers are joined with
//   "," (Envoy matches the joined value); a rule on an absent header is false, and Invert flips
//   the outcome (so `Exact` + `Invert` holds when the header is absent);
// - a query parameter's first value is matched, percent-decoded; Regex is a full match;
// - Methods compare exactly (Consul only accepts upper-case names; so does the model).
// One departure, to bound what a request costs: a regex rule never runs on a path or value longer
// than CHAIN_LIMITS.maxRegexInputChars; such a value does not match it.
import { CHAIN_LIMITS } from './discovery-chain';
import type { Re2 } from './re2';
import type {
  ChainRoute,
  HeaderMatch,
  HttpRouteMatch,
  QueryParamMatch,
  RouterNode,
} from './discovery-chain';

/** What route matching reads from a request. */
export interface RouteRequest {
  readonly method: string;
  /** The request target as sent: path and optional `?query`. */
  readonly url: string;
  /** Header values by name (any case); Node's IncomingHttpHeaders fits. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export interface RouteChoice {
  readonly route: ChainRoute;
  /** Index in the router's routes (for logs and metrics). */
  readonly index: number;
}

/** The first route of `router` that `request` satisfies, or undefined when none does. */
export function matchRoute(router: RouterNode, request: RouteRequest): RouteChoice | undefined {
  const view = requestView(request);
  for (let index = 0; index < router.routes.length; index++) {
    const route = router.routes[index]!;
    if (route.match === undefined || matchesHttp(route.match, view)) return { route, index };
  }
  return undefined;
}

interface RequestView {
  readonly method: string;
  readonly target: string;
  readonly path: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly query: ReadonlyMap<string, string>;
}

function requestView(request: RouteRequest): RequestView {
  const target = request.url;
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const joined = typeof value === 'string' ? value : value.join(',');
    const key = name.toLowerCase();
    const before = headers.get(key);
    headers.set(key, before === undefined ? joined : `${before},${joined}`);
  }
  const query = new Map<string, string>();
  if (q !== -1) {
    for (const pair of target.slice(q + 1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decode(eq === -1 ? pair : pair.slice(0, eq));
      // First value wins, as in Envoy's query parameter map.
      if (!query.has(name)) query.set(name, eq === -1 ? '' : decode(pair.slice(eq + 1)));
    }
  }
  return { method: request.method, target, path, headers, query };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // a malformed escape is matched as sent rather than dropping the request
  }
}

function matchesHttp(match: HttpRouteMatch, request: RequestView): boolean {
  if (match.pathExact !== undefined && request.path !== match.pathExact) return false;
  if (match.pathPrefix !== undefined && !request.target.startsWith(match.pathPrefix)) return false;
  if (match.pathRegex !== undefined && !regexMatches(match.pathRegex, request.path)) return false;
  if (match.methods.length > 0 && !match.methods.includes(request.method)) return false;
  return (
    match.headers.every((rule) => matchesHeader(rule, request.headers.get(rule.name))) &&
    match.queryParams.every((rule) => matchesQuery(rule, request.query.get(rule.name)))
  );
}

function matchesHeader(rule: HeaderMatch, value: string | undefined): boolean {
  let holds: boolean;
  if (value === undefined) holds = false;
  else {
    switch (rule.kind) {
      case 'present':
        holds = true;
        break;
      case 'exact':
        holds = value === rule.value;
        break;
      case 'prefix':
        holds = value.startsWith(rule.value);
        break;
      case 'suffix':
        holds = value.endsWith(rule.value);
        break;
      case 'regex':
        holds = regexMatches(rule.regex, value);
        break;
    }
  }
  return holds !== rule.invert;
}

function matchesQuery(rule: QueryParamMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  switch (rule.kind) {
    case 'present':
      return true;
    case 'exact':
      return value === rule.value;
    case 'regex':
      return regexMatches(rule.regex, value);
  }
}

/** A full match of `value`, false beyond the input bound (the chain's regex cost stays bounded). */
function regexMatches(regex: Re2, value: string): boolean {
  return value.length <= CHAIN_LIMITS.maxRegexInputChars && regex.fullMatch(value);
}
