// Consul's compiled discovery chain (`GET /v1/discovery-chain/:name`, Consul 1.16.3), validated
// into our own frozen model. Consul compiles service-router, service-splitter and service-resolver
// entries into a graph: StartNode -> router? -> splitter? -> resolver, each resolver naming one
// target (service + subset + datacenter) and its failover targets.
//
// Answer shape as Consul 1.16.3 sends it (field names exact; `?` = omitted when empty/zero):
//   { Chain: { ServiceName, Namespace, Partition, Datacenter, CustomizationHash?, Default?,
//     Protocol, ServiceMeta?, EnvoyExtensions?, StartNode, AutoVirtualIPs, ManualVirtualIPs,
//     Nodes: { "<Type>:<Name>": { Type: "router"|"splitter"|"resolver", Name (router and
//       splitter: "web.default.default", i.e. service.namespace.partition; resolver: its target id),
//       Routes?: [{ Definition: { Match?: { HTTP?: { PathExact?, PathPrefix?, PathRegex?,
//           Header?: [{ Name, Present?, Exact?, Prefix?, Suffix?, Regex?, Invert? }],
//           QueryParam?: [{ Name, Present?, Exact?, Regex? }], Methods?: [] } },
//         Destination?: { Service?, ServiceSubset?, Namespace?, Partition?, PrefixRewrite?,
//           RequestTimeout?: "5s", IdleTimeout?: "5s", NumRetries?, RetryOnConnectFailure?,
//           RetryOn?: [], RetryOnStatusCodes?: [], RequestHeaders?, ResponseHeaders? } },
//         NextNode }],
//       Splits?: [{ Definition: { Weight, Service?, ServiceSubset?, ... }, Weight, NextNode }],
//       Resolver?: { Default?, ConnectTimeout?: "5s", RequestTimeout?: <integer ns, e.g.
//         7000000000: no custom marshaller in 1.16.3>, Target,
//         Failover?: { Targets: [targetId], Policy?: { Mode?, Regions? }, Regions? } },
//       LoadBalancer?: { Policy?, RingHashConfig?, LeastRequestConfig?, HashPolicies? } } },
//     Targets: { "<subset.>service.namespace.partition.datacenter": { ID, Service,
//       ServiceSubset?, Namespace, Partition, Datacenter, Peer?, MeshGateway, Subset: { Filter?,
//       OnlyPassing? }, TransparentProxy, ConnectTimeout?: "5s", External?, SNI, Name,
//       Locality?, PrioritizeByLocality? } } } }
//
// Consul appends a catch-all route (PathPrefix "/", Destination {Service, Namespace, Partition})
// to every router. A chain with no entries is one resolver node with Default: true, Protocol
// "tcp" and Chain.Default: true. (Checked against Consul 1.16.3 in
// test/traffic/discovery-chain.integration.test.ts; a trimmed real answer is in
// test/traffic/fixtures/discovery-chain-web.json.)
//
// Not modelled (kept out of the model on purpose, ignored when present): EnvoyExtensions,
// ServiceMeta, CustomizationHash, Auto/ManualVirtualIPs, MeshGateway, TransparentProxy, SNI,
// Locality, PrioritizeByLocality, Failover Policy/Regions (kept as data, not interpreted), and
// LoadBalancer (kept as data for the balancer to read later). Route Destination.RetryOn
// conditions are kept as strings. Peer targets are kept but we cannot reach peers.
import { DiscoveryChainError, FilterExpressionError } from '../errors';
import { parseFilterExpression } from './filter-expression';
import type { FilterExpression } from './filter-expression';
import { durationMs } from './go-duration';
import { refuseHeaderName, refuseHeaderValue, wireValue } from './header-modifiers';
import type { HeaderModifiers } from './header-modifiers';
import { Re2, Re2SyntaxError } from './re2';
import { routeRetryPolicy } from './route-retry';
import type { RouteRetryPolicy } from './route-retry';

/**
 * Bounds on a hostile answer (Consul's own chains are far smaller), all in one place; a chain beyond
 * any of them is refused (DiscoveryChainError naming the path) and the last good one kept. The
 * regex bounds cap what route matching costs per request: our matcher runs in time
 * O(input x program), so a request costs at most `maxRegexProgram x maxRegexInputChars`
 * instruction steps over all the chain's regexes (about 1M: tens of ms at worst on a loaded core,
 * measured in test/traffic/chain-budget.test.ts), where 16 header regexes of 5,000 instructions
 * against an 8 KB header took 1.5 s.
 */
export const CHAIN_LIMITS = Object.freeze({
  /** Longest string anywhere in the answer, in UTF-16 code units. */
  maxStringLength: 4_096,
  maxNodes: 1_024,
  maxTargets: 1_024,
  maxListLength: 256,
  /**
   * Size of the whole answer, in characters of its JSON text (1 MiB): a real chain is a few KB; a
   * 26 MB one ran V8 out of memory while it was modelled.
   */
  maxAnswerChars: 1_048_576,
  /** Regexes (PathRegex, Header and QueryParam `Regex`) in one chain. */
  maxRegexes: 32,
  /** Characters of all the chain's regex patterns together. */
  maxRegexSourceChars: 4_096,
  /** NFA instructions of all the chain's compiled regexes together (one pattern may use 5,000). */
  maxRegexProgram: 1_000,
  /**
   * Longest path, header value or query value a regex rule is run on, in UTF-16 code units; a
   * longer one does not match the rule (with `Invert`, a header rule then holds), so a request can
   * never make a regex cost more than this.
   */
  maxRegexInputChars: 1_024,
  /**
   * Targets one chain may have watched (each is a health watch, maybe in another datacenter):
   * counted over the targets we would follow (peer targets are left out).
   */
  maxTargetWatches: 32,
});

/** What one chain's regexes have spent of CHAIN_LIMITS so far (one per parse). */
class RegexBudget {
  private count = 0;
  private sourceChars = 0;
  private program = 0;

  spend(reader: Reader, regex: Re2): void {
    this.count += 1;
    this.sourceChars += regex.source.length;
    this.program += regex.programSize;
    if (this.count > CHAIN_LIMITS.maxRegexes) {
      reader.fail(`is regex number ${this.count}, more than ${CHAIN_LIMITS.maxRegexes} in a chain`);
    }
    if (this.sourceChars > CHAIN_LIMITS.maxRegexSourceChars) {
      reader.fail(
        `brings the chain's regex patterns to ${this.sourceChars} characters, more than ${CHAIN_LIMITS.maxRegexSourceChars}`,
      );
    }
    if (this.program > CHAIN_LIMITS.maxRegexProgram) {
      reader.fail(
        `brings the chain's regexes to ${this.program} instructions, more than ${CHAIN_LIMITS.maxRegexProgram}`,
      );
    }
  }
}

export type HeaderMatch =
  | { readonly name: string; readonly kind: 'present'; readonly invert: boolean }
  | {
      readonly name: string;
      readonly kind: 'exact' | 'prefix' | 'suffix';
      readonly value: string;
      readonly invert: boolean;
    }
  | {
      readonly name: string;
      readonly kind: 'regex';
      readonly regex: Re2;
      readonly invert: boolean;
    };

export type QueryParamMatch =
  | { readonly name: string; readonly kind: 'present' }
  | { readonly name: string; readonly kind: 'exact'; readonly value: string }
  | { readonly name: string; readonly kind: 'regex'; readonly regex: Re2 };

export interface HttpRouteMatch {
  /** At most one of the three path rules is set (Consul validates it; so do we). */
  readonly pathExact: string | undefined;
  readonly pathPrefix: string | undefined;
  readonly pathRegex: Re2 | undefined;
  /** Header names are lower-cased here: HTTP header names are case-insensitive. */
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly QueryParamMatch[];
  /** Upper-case method names; empty means any method. */
  readonly methods: readonly string[];
}

export interface RouteDestination {
  readonly service: string | undefined;
  readonly serviceSubset: string | undefined;
  readonly namespace: string | undefined;
  readonly partition: string | undefined;
  readonly prefixRewrite: string | undefined;
  readonly requestTimeoutMs: number | undefined;
  readonly idleTimeoutMs: number | undefined;
  readonly numRetries: number;
  readonly retryOnConnectFailure: boolean;
  readonly retryOn: readonly string[];
  readonly retryOnStatusCodes: readonly number[];
  readonly requestHeaders: HeaderModifiers | undefined;
  readonly responseHeaders: HeaderModifiers | undefined;
  /** The retry policy Consul would give Envoy; undefined: no retry feature, the client's rule. */
  readonly retryPolicy: RouteRetryPolicy | undefined;
}

export interface ChainRoute {
  /** Undefined: matches every request (Consul's catch-all route has PathPrefix "/"). */
  readonly match: HttpRouteMatch | undefined;
  readonly destination: RouteDestination | undefined;
  /** Key of the next node (`splitter:web`, `resolver:v1.web.default.default.dc1`). */
  readonly nextNode: string;
}

export interface ChainSplit {
  /** 0 to 100. */
  readonly weight: number;
  readonly nextNode: string;
  readonly service: string | undefined;
  readonly serviceSubset: string | undefined;
  readonly requestHeaders: HeaderModifiers | undefined;
  readonly responseHeaders: HeaderModifiers | undefined;
}

export interface ChainFailover {
  /** Target ids, tried in order. */
  readonly targets: readonly string[];
  readonly policy: { readonly mode: string; readonly regions: readonly string[] } | undefined;
  readonly regions: readonly string[];
}

export interface RouterNode {
  readonly type: 'router';
  readonly key: string;
  readonly name: string;
  readonly routes: readonly ChainRoute[];
}

export interface SplitterNode {
  readonly type: 'splitter';
  readonly key: string;
  readonly name: string;
  readonly splits: readonly ChainSplit[];
}

export interface ResolverNode {
  readonly type: 'resolver';
  readonly key: string;
  readonly name: string;
  /** True when no service-resolver entry exists: Consul made this one up. */
  readonly isDefault: boolean;
  readonly connectTimeoutMs: number | undefined;
  readonly requestTimeoutMs: number | undefined;
  readonly target: string;
  readonly failover: ChainFailover | undefined;
  /** Consul's LoadBalancer object as sent, frozen; not interpreted yet. */
  readonly loadBalancer: unknown;
}

export type ChainNode = RouterNode | SplitterNode | ResolverNode;

export interface ChainTarget {
  readonly id: string;
  readonly service: string;
  readonly serviceSubset: string;
  readonly namespace: string;
  readonly partition: string;
  readonly datacenter: string;
  readonly peer: string;
  /** The subset filter, parsed; matches everything when the subset has none. */
  readonly filter: FilterExpression;
  readonly onlyPassing: boolean;
  readonly connectTimeoutMs: number | undefined;
  readonly external: boolean;
}

export interface DiscoveryChain {
  readonly serviceName: string;
  readonly namespace: string;
  readonly partition: string;
  readonly datacenter: string;
  /** `tcp` unless a service-defaults (or proxy-defaults) entry says `http`, `http2`, `grpc`. */
  readonly protocol: string;
  /** True when no config entry shapes this chain (Consul's default resolver only). */
  readonly isDefault: boolean;
  readonly startNode: string;
  readonly nodes: ReadonlyMap<string, ChainNode>;
  readonly targets: ReadonlyMap<string, ChainTarget>;
}

type Json = Record<string, unknown>;

const HTTP_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
]);

const showKey = (key: string): string => JSON.stringify(key);

/** Reads one JSON value at a known path; every accessor throws DiscoveryChainError. */
class Reader {
  constructor(
    readonly value: unknown,
    readonly path: string,
    private readonly budget: RegexBudget,
  ) {}

  fail(reason: string, cause?: unknown): never {
    throw new DiscoveryChainError(this.path, reason, cause === undefined ? undefined : { cause });
  }

  at(name: string): Reader {
    const object = this.object();
    return new Reader(
      Object.hasOwn(object, name) ? object[name] : undefined,
      `${this.path}.${name}`,
      this.budget,
    );
  }

  object(): Json {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) {
      this.fail(`must be an object (got ${describe(this.value)})`);
    }
    return this.value as Json;
  }

  optionalObject(): Reader | undefined {
    return this.value === undefined || this.value === null ? undefined : (this.object(), this);
  }

  /** Entries of an object used as a map, bounded. */
  entries(max: number): [string, Reader][] {
    if (this.value === undefined || this.value === null) return [];
    const keys = Object.keys(this.object());
    if (keys.length > max) this.fail(`has ${keys.length} entries, more than ${max}`);
    return keys.map((key) => {
      checkLength(key, `${this.path}[${showKey(key.slice(0, 64))}]`);
      return [
        key,
        new Reader((this.value as Json)[key], `${this.path}[${showKey(key)}]`, this.budget),
      ];
    });
  }

  list(max = CHAIN_LIMITS.maxListLength): Reader[] {
    if (this.value === undefined || this.value === null) return [];
    if (!Array.isArray(this.value)) this.fail(`must be a list (got ${describe(this.value)})`);
    if (this.value.length > max) this.fail(`has ${this.value.length} elements, more than ${max}`);
    return this.value.map((item, index) => new Reader(item, `${this.path}[${index}]`, this.budget));
  }

  string(): string {
    if (typeof this.value !== 'string') this.fail(`must be a string (got ${describe(this.value)})`);
    checkLength(this.value, this.path);
    return this.value;
  }

  /** Go's omitempty: absent means "". */
  optionalString(): string {
    return this.value === undefined || this.value === null ? '' : this.string();
  }

  nonEmptyString(): string {
    const text = this.string();
    if (text === '') this.fail('must not be empty');
    return text;
  }

  bool(): boolean {
    if (this.value === undefined || this.value === null) return false;
    if (typeof this.value !== 'boolean')
      this.fail(`must be a boolean (got ${describe(this.value)})`);
    return this.value;
  }

  number(min: number, max: number, integer: boolean): number {
    if (this.value === undefined || this.value === null) return 0;
    const n = this.value;
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      this.fail(`must be a finite number (got ${describe(n)})`);
    }
    if ((integer && !Number.isInteger(n)) || n < min || n > max) {
      this.fail(`must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${n})`);
    }
    return n;
  }

  duration(): number | undefined {
    if (this.value === undefined || this.value === null || this.value === '') return undefined;
    const ms = durationMs(this.value);
    if (ms === undefined || ms < 0)
      this.fail(`must be a Go duration (got ${describe(this.value)})`);
    return ms;
  }

  regex(): Re2 {
    const source = this.string();
    let regex: Re2;
    try {
      regex = Re2.compile(source);
    } catch (error) {
      if (error instanceof Re2SyntaxError)
        this.fail(`invalid regular expression: ${error.message}`, error);
      throw error;
    }
    this.budget.spend(this, regex);
    return regex;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === 'number') return String(value);
  return typeof value;
}

function checkLength(text: string, path: string): void {
  if (text.length > CHAIN_LIMITS.maxStringLength) {
    throw new DiscoveryChainError(
      path,
      `string of ${text.length} characters, longer than ${CHAIN_LIMITS.maxStringLength}`,
    );
  }
}

const optional = (text: string): string | undefined => (text === '' ? undefined : text);

/**
 * A route's or split's RequestHeaders / ResponseHeaders (`{ Add, Set, Remove }`). A name that is
 * no HTTP header name or one a chain may not touch (`host`, framing and hop-by-hop headers), or a
 * value with CR, LF, NUL or another control character, refuses the chain (see header-modifiers.ts).
 */
function headerModifiers(reader: Reader): HeaderModifiers | undefined {
  const object = reader.optionalObject();
  if (!object) return undefined;
  const name = (raw: string, at: Reader): string => {
    const lower = raw.toLowerCase();
    const refused = refuseHeaderName(lower);
    if (refused !== undefined) at.fail(refused);
    return lower;
  };
  // An empty value is left out: Envoy adds or sets none unless keep_empty_value, which Consul
  // never sets (the header is then neither added nor overwritten).
  const pairs = (r: Reader): (readonly [string, string])[] =>
    r.entries(CHAIN_LIMITS.maxListLength).flatMap(([key, value]) => {
      const text = value.string();
      const refused = refuseHeaderValue(text);
      if (refused !== undefined) value.fail(refused);
      const lower = name(key, value);
      return text === '' ? [] : [Object.freeze([lower, wireValue(text)] as const)];
    });
  const add = pairs(object.at('Add'));
  const set = pairs(object.at('Set'));
  const remove = object
    .at('Remove')
    .list()
    .map((r) => name(r.string(), r));
  if (add.length === 0 && set.length === 0 && remove.length === 0) return undefined;
  return Object.freeze({
    add: Object.freeze(add),
    set: Object.freeze(set),
    remove: Object.freeze(remove),
  });
}

/** Exactly one rule per header/query match, as Consul's own validation demands. */
function oneRule(reader: Reader, rules: readonly string[]): string {
  const set = rules.filter((rule) => {
    const value = reader.at(rule).value;
    return rule === 'Present'
      ? value === true
      : value !== undefined && value !== null && value !== '';
  });
  if (set.length !== 1)
    reader.fail(`must set exactly one of ${rules.join(', ')} (got ${set.length})`);
  return set[0]!;
}

function headerMatch(reader: Reader): HeaderMatch {
  const name = reader.at('Name').nonEmptyString().toLowerCase();
  const invert = reader.at('Invert').bool();
  const rule = oneRule(reader, ['Present', 'Exact', 'Prefix', 'Suffix', 'Regex']);
  switch (rule) {
    case 'Present':
      return Object.freeze({ name, kind: 'present', invert });
    case 'Regex':
      return Object.freeze({ name, kind: 'regex', regex: reader.at('Regex').regex(), invert });
    default: {
      const kind = rule.toLowerCase() as 'exact' | 'prefix' | 'suffix';
      return Object.freeze({ name, kind, value: reader.at(rule).string(), invert });
    }
  }
}

function queryParamMatch(reader: Reader): QueryParamMatch {
  const name = reader.at('Name').nonEmptyString();
  switch (oneRule(reader, ['Present', 'Exact', 'Regex'])) {
    case 'Present':
      return Object.freeze({ name, kind: 'present' });
    case 'Regex':
      return Object.freeze({ name, kind: 'regex', regex: reader.at('Regex').regex() });
    default:
      return Object.freeze({ name, kind: 'exact', value: reader.at('Exact').string() });
  }
}

function httpMatch(reader: Reader): HttpRouteMatch | undefined {
  const http = reader.optionalObject()?.at('HTTP').optionalObject();
  if (!http) return undefined;
  const pathExact = optional(http.at('PathExact').optionalString());
  const pathPrefix = optional(http.at('PathPrefix').optionalString());
  const regexReader = http.at('PathRegex');
  const pathRegex = regexReader.optionalString() === '' ? undefined : regexReader.regex();
  const paths = [pathExact, pathPrefix, pathRegex].filter((p) => p !== undefined).length;
  if (paths > 1) http.fail('must set at most one of PathExact, PathPrefix, PathRegex');
  const methods = http
    .at('Methods')
    .list()
    .map((m) => {
      const method = m.string();
      if (!HTTP_METHODS.has(method))
        m.fail(`must be an HTTP method in upper case (got ${describe(method)})`);
      return method;
    });
  return Object.freeze({
    pathExact,
    pathPrefix,
    pathRegex,
    headers: Object.freeze(http.at('Header').list().map(headerMatch)),
    queryParams: Object.freeze(http.at('QueryParam').list().map(queryParamMatch)),
    methods: Object.freeze(methods),
  });
}

/**
 * What a route's PrefixRewrite may put in front of a path: an origin-form path (`/`, then printable
 * characters without spaces) that does not start with `//`. Anything else could turn the request
 * target into another host's (`//evil.com/x`, an absolute URL) or smuggle a header (CR/LF).
 */
const ORIGIN_PATH = /^\/(?!\/)[\x21-\x7e]*$/;

function prefixRewrite(reader: Reader): string | undefined {
  const value = optional(reader.optionalString());
  if (value !== undefined && !ORIGIN_PATH.test(value)) {
    reader.fail(`must be an origin-form path ('/' then no space or control character, not '//')`);
  }
  return value;
}

function routeDestination(reader: Reader): RouteDestination | undefined {
  const d = reader.optionalObject();
  if (!d) return undefined;
  const retries = {
    numRetries: d.at('NumRetries').number(0, 2 ** 32 - 1, true),
    retryOnConnectFailure: d.at('RetryOnConnectFailure').bool(),
    retryOn: Object.freeze(
      d
        .at('RetryOn')
        .list()
        .map((r) => r.string()),
    ),
    retryOnStatusCodes: Object.freeze(
      d
        .at('RetryOnStatusCodes')
        .list()
        .map((r) => r.number(100, 599, true)),
    ),
  };
  return Object.freeze({
    service: optional(d.at('Service').optionalString()),
    serviceSubset: optional(d.at('ServiceSubset').optionalString()),
    namespace: optional(d.at('Namespace').optionalString()),
    partition: optional(d.at('Partition').optionalString()),
    prefixRewrite: prefixRewrite(d.at('PrefixRewrite')),
    requestTimeoutMs: d.at('RequestTimeout').duration(),
    idleTimeoutMs: d.at('IdleTimeout').duration(),
    ...retries,
    requestHeaders: headerModifiers(d.at('RequestHeaders')),
    responseHeaders: headerModifiers(d.at('ResponseHeaders')),
    retryPolicy: routeRetryPolicy(retries),
  });
}

function routerNode(reader: Reader, key: string, name: string): RouterNode {
  const routes = reader
    .at('Routes')
    .list()
    .map((route): ChainRoute => {
      const definition = route.at('Definition').optionalObject();
      return Object.freeze({
        match: definition ? httpMatch(definition.at('Match')) : undefined,
        destination: definition ? routeDestination(definition.at('Destination')) : undefined,
        nextNode: route.at('NextNode').nonEmptyString(),
      });
    });
  if (routes.length === 0) reader.at('Routes').fail('a router needs at least one route');
  return Object.freeze({ type: 'router', key, name, routes: Object.freeze(routes) });
}

function splitterNode(reader: Reader, key: string, name: string): SplitterNode {
  const splitsReader = reader.at('Splits');
  const splits = splitsReader.list().map((split): ChainSplit => {
    const definition = split.at('Definition').optionalObject();
    return Object.freeze({
      weight: split.at('Weight').number(0, 100, false),
      nextNode: split.at('NextNode').nonEmptyString(),
      service: definition ? optional(definition.at('Service').optionalString()) : undefined,
      serviceSubset: definition
        ? optional(definition.at('ServiceSubset').optionalString())
        : undefined,
      requestHeaders: definition ? headerModifiers(definition.at('RequestHeaders')) : undefined,
      responseHeaders: definition ? headerModifiers(definition.at('ResponseHeaders')) : undefined,
    });
  });
  if (splits.length === 0) splitsReader.fail('a splitter needs at least one split');
  // Consul checks sum(round(weight*100)) == 10000; flattening nested splitters rounds each
  // product again, so allow one hundredth of a percent per split.
  const sum = splits.reduce((total, split) => total + Math.round(split.weight * 100), 0);
  if (Math.abs(sum - 10_000) > splits.length) {
    splitsReader.fail(`weights must sum to 100 (got ${sum / 100})`);
  }
  return Object.freeze({ type: 'splitter', key, name, splits: Object.freeze(splits) });
}

function resolverNode(reader: Reader, key: string, name: string): ResolverNode {
  const resolver = reader.at('Resolver');
  resolver.object();
  const failoverReader = resolver.at('Failover').optionalObject();
  let failover: ChainFailover | undefined;
  if (failoverReader) {
    const policy = failoverReader.at('Policy').optionalObject();
    failover = Object.freeze({
      targets: Object.freeze(
        failoverReader
          .at('Targets')
          .list()
          .map((t) => t.nonEmptyString()),
      ),
      policy: policy
        ? Object.freeze({
            mode: policy.at('Mode').optionalString(),
            regions: Object.freeze(
              policy
                .at('Regions')
                .list()
                .map((r) => r.string()),
            ),
          })
        : undefined,
      regions: Object.freeze(
        failoverReader
          .at('Regions')
          .list()
          .map((r) => r.string()),
      ),
    });
  }
  const loadBalancer = reader.at('LoadBalancer').optionalObject();
  return Object.freeze({
    type: 'resolver',
    key,
    name,
    isDefault: resolver.at('Default').bool(),
    connectTimeoutMs: resolver.at('ConnectTimeout').duration(),
    requestTimeoutMs: resolver.at('RequestTimeout').duration(),
    target: resolver.at('Target').nonEmptyString(),
    failover,
    loadBalancer: loadBalancer ? deepFreeze(structuredClone(loadBalancer.value)) : undefined,
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function chainTarget(reader: Reader, id: string): ChainTarget {
  reader.object();
  const declared = reader.at('ID').optionalString();
  if (declared !== '' && declared !== id)
    reader.at('ID').fail(`differs from its key ${showKey(id)}`);
  const subset = reader.at('Subset').optionalObject();
  const filterReader = subset?.at('Filter');
  let filter: FilterExpression;
  try {
    filter = parseFilterExpression(filterReader?.optionalString() ?? '');
  } catch (error) {
    if (error instanceof FilterExpressionError) {
      filterReader!.fail(`filter refused at offset ${error.position}: ${error.reason}`, error);
    }
    throw error;
  }
  return Object.freeze({
    id,
    service: reader.at('Service').nonEmptyString(),
    serviceSubset: reader.at('ServiceSubset').optionalString(),
    namespace: reader.at('Namespace').optionalString(),
    partition: reader.at('Partition').optionalString(),
    datacenter: reader.at('Datacenter').optionalString(),
    peer: reader.at('Peer').optionalString(),
    filter,
    onlyPassing: subset?.at('OnlyPassing').bool() ?? false,
    connectTimeoutMs: reader.at('ConnectTimeout').duration(),
    external: reader.at('External').bool(),
  });
}

function chainNode(reader: Reader, key: string): ChainNode {
  reader.object();
  const typeReader = reader.at('Type');
  const type = typeReader.string();
  const name = reader.at('Name').nonEmptyString();
  if (key !== `${type}:${name}`) reader.fail(`key must be "${type}:${name}" (Type:Name)`);
  switch (type) {
    case 'router':
      return routerNode(reader, key, name);
    case 'splitter':
      return splitterNode(reader, key, name);
    case 'resolver':
      return resolverNode(reader, key, name);
    default:
      return typeReader.fail(`must be router, splitter or resolver (got ${describe(type)})`);
  }
}

/** Every reference resolves, routers lead to splitters or resolvers, and there is no cycle. */
function checkGraph(
  chain: Reader,
  startNode: string,
  nodes: ReadonlyMap<string, ChainNode>,
  targets: ReadonlyMap<string, ChainTarget>,
): void {
  const nodesPath = `${chain.path}.Nodes`;
  if (!nodes.has(startNode)) chain.at('StartNode').fail(`names no node (${showKey(startNode)})`);
  const edges = (node: ChainNode): [string, string][] => {
    const base = `${nodesPath}[${showKey(node.key)}]`;
    switch (node.type) {
      case 'router':
        return node.routes.map((r, i) => [r.nextNode, `${base}.Routes[${i}].NextNode`]);
      case 'splitter':
        return node.splits.map((s, i) => [s.nextNode, `${base}.Splits[${i}].NextNode`]);
      case 'resolver':
        return [];
    }
  };
  for (const node of nodes.values()) {
    const base = `${nodesPath}[${showKey(node.key)}]`;
    for (const [next, path] of edges(node)) {
      const target = nodes.get(next);
      if (!target) throw new DiscoveryChainError(path, `names no node (${showKey(next)})`);
      if (node.type === 'router' && target.type === 'router') {
        throw new DiscoveryChainError(path, 'a router must lead to a splitter or a resolver');
      }
    }
    if (node.type === 'resolver') {
      if (!targets.has(node.target)) {
        throw new DiscoveryChainError(
          `${base}.Resolver.Target`,
          `names no target (${showKey(node.target)})`,
        );
      }
      node.failover?.targets.forEach((t, i) => {
        if (!targets.has(t)) {
          throw new DiscoveryChainError(
            `${base}.Resolver.Failover.Targets[${i}]`,
            `names no target (${showKey(t)})`,
          );
        }
      });
    }
  }
  // Iterative three-colour DFS: a hostile chain cannot blow the stack.
  const state = new Map<string, 'open' | 'done'>();
  for (const root of nodes.keys()) {
    if (state.has(root)) continue;
    const stack: { key: string; next: number }[] = [{ key: root, next: 0 }];
    state.set(root, 'open');
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const out = edges(nodes.get(frame.key)!);
      if (frame.next >= out.length) {
        state.set(frame.key, 'done');
        stack.pop();
        continue;
      }
      const [next, path] = out[frame.next++]!;
      const seen = state.get(next);
      if (seen === 'open')
        throw new DiscoveryChainError(path, `closes a cycle back to ${showKey(next)}`);
      if (seen === undefined) {
        state.set(next, 'open');
        stack.push({ key: next, next: 0 });
      }
    }
  }
}

/**
 * Validates Consul's answer to `GET /v1/discovery-chain/:name` into a frozen DiscoveryChain.
 * @throws DiscoveryChainError naming the offending path; never anything else for any JSON value
 */
export function parseDiscoveryChain(json: unknown, answerChars = 0): DiscoveryChain {
  try {
    if (answerChars > CHAIN_LIMITS.maxAnswerChars) {
      throw new DiscoveryChainError(
        'answer',
        `is ${answerChars} characters of JSON, more than ${CHAIN_LIMITS.maxAnswerChars}`,
      );
    }
    const budget = new RegexBudget();
    const answer = new Reader(json, 'answer', budget).object();
    const root = new Reader(
      Object.hasOwn(answer, 'Chain') ? answer.Chain : undefined,
      'Chain',
      budget,
    );
    root.object();
    const nodes = new Map<string, ChainNode>();
    for (const [key, node] of root.at('Nodes').entries(CHAIN_LIMITS.maxNodes)) {
      nodes.set(key, chainNode(node, key));
    }
    const targets = new Map<string, ChainTarget>();
    for (const [id, target] of root.at('Targets').entries(CHAIN_LIMITS.maxTargets)) {
      targets.set(id, chainTarget(target, id));
    }
    const followed = [...targets.values()].filter((target) => target.peer === '').length;
    if (followed > CHAIN_LIMITS.maxTargetWatches) {
      root
        .at('Targets')
        .fail(
          `has ${followed} targets to watch, more than ${CHAIN_LIMITS.maxTargetWatches} in a chain`,
        );
    }
    const startNode = root.at('StartNode').nonEmptyString();
    checkGraph(root, startNode, nodes, targets);
    return Object.freeze({
      serviceName: root.at('ServiceName').nonEmptyString(),
      namespace: root.at('Namespace').optionalString(),
      partition: root.at('Partition').optionalString(),
      datacenter: root.at('Datacenter').optionalString(),
      protocol: root.at('Protocol').optionalString() || 'tcp',
      isDefault: root.at('Default').bool(),
      startNode,
      nodes: freezeMap(nodes),
      targets: freezeMap(targets),
    });
  } catch (error) {
    if (error instanceof DiscoveryChainError) throw error;
    // Anything else (a getter that throws, a stack overflow on absurd nesting) is still a bad answer.
    throw new DiscoveryChainError('Chain', 'could not be read', { cause: error });
  }
}

/** A namespace or partition name; Consul leaves it empty or says `default` for the same one. */
const tenancy = (name: string): string => (name === '' ? 'default' : name);

/**
 * Whether `target` is in the chain's own namespace and partition. Instances are read there (no
 * `ns=` or `partition=`), so a target elsewhere would be served by our same-named service: the
 * library routes nothing to it (nor does it count it).
 */
export function inChainTenancy(chain: DiscoveryChain, target: ChainTarget): boolean {
  return (
    tenancy(target.namespace) === tenancy(chain.namespace) &&
    tenancy(target.partition) === tenancy(chain.partition)
  );
}

/** A Map whose mutators throw: the model is shared between requests and must not change. */
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('DiscoveryChain maps are read-only');
  };
  map.set = refuse;
  map.delete = refuse;
  map.clear = refuse;
  return Object.freeze(map);
}
