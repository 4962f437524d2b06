import type {
  AdapterStatus,
  TrafficStatus,
  ExpressConsulState,
  InstanceStatus as ServedInstance,
  RegistrationState,
  UpstreamStatus as ServedUpstream,
} from '../index';
import { REGISTRATION_STATES } from '../registration/registration-state';

// The JSON that `consul.statusHandler()` answers, as the CLI and the demo read it: the library's
// own types, loosened where another version of the service may answer differently (any number may
// be null when the service does not know it, health is any string). This side only reads it: every
// field is checked, so a wrong URL or an incompatible version fails with the path of the first
// field that does not fit instead of printing `undefined`. Unknown fields are ignored so that newer
// services still work with an older CLI.

/** `T` with every number field also allowed to be null. */
type MaybeKnown<T> = { readonly [K in keyof T]: T[K] extends number ? T[K] | null : T[K] };

/** One instance of an upstream, as the calling service sees it. */
export type InstanceStatus = MaybeKnown<Omit<ServedInstance, 'port' | 'health'>> & {
  readonly port: number;
  readonly health: string;
};

/** One service the calling service sends requests to. */
export type UpstreamStatus = MaybeKnown<
  Omit<ServedUpstream, 'retryBudget' | 'instances' | 'traffic'>
> & {
  readonly retryBudget: MaybeKnown<ServedUpstream['retryBudget']>;
  readonly instances: readonly InstanceStatus[];
  /** The discovery chain its calls follow; absent without traffic-management entries (or older). */
  readonly traffic?: TrafficStatus;
};

/** The whole answer of `consul.statusHandler()`, its states checked against the known ones. */
export interface StatusDocument {
  readonly service: AdapterStatus['service'] & {
    readonly state: ExpressConsulState;
    readonly registration: RegistrationState;
  };
  readonly upstreams: readonly UpstreamStatus[];
  /** Configurations from Consul KV; absent when the service follows none (or is older). */
  readonly configs?: readonly ConfigLine[];
  /** Leader elections; absent when the service runs none (or is older). */
  readonly leaders?: readonly LeaderLine[];
}

/** One `consul.config()` of the service, as the CLI prints it. */
export interface ConfigLine {
  readonly key: string;
  readonly index: number;
  readonly lastGoodAt: number | null;
  readonly stale: boolean;
  readonly refused: number;
  readonly lastRefused: { readonly problem: string; readonly path: string } | null;
}

/** One `consul.leader()` of the service, as the CLI prints it. */
export interface LeaderLine {
  readonly name: string;
  readonly leader: boolean;
  readonly since: number | null;
}

/** The status JSON did not have the expected shape; `path` names the first field that did not fit. */
export class StatusDocumentError extends Error {
  readonly path: string;

  constructor(path: string, expected: string) {
    super(`${path} is not ${expected}`);
    this.path = path;
    this.name = 'StatusDocumentError';
  }
}

const SERVICE_STATES: readonly ExpressConsulState[] = [
  'created',
  'starting',
  'running',
  'draining',
  'closed',
];

type Json = Record<string, unknown>;

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new StatusDocumentError(path, 'an object');
  return value as Json;
}

function list(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new StatusDocumentError(path, 'an array');
  return value;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new StatusDocumentError(path, 'a string');
  return value;
}

function flag(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new StatusDocumentError(path, 'a boolean');
  return value;
}

function count(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new StatusDocumentError(path, 'a number');
  return value;
}

function countOrNull(value: unknown, path: string): number | null {
  return value === null ? null : count(value, path);
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value))
    throw new StatusDocumentError(path, `one of ${allowed.join('|')}`);
  return value as T;
}

function readInstance(value: unknown, path: string): InstanceStatus {
  const o = object(value, path);
  return {
    id: text(o.id, `${path}.id`),
    serviceId: text(o.serviceId, `${path}.serviceId`),
    node: text(o.node, `${path}.node`),
    address: text(o.address, `${path}.address`),
    port: count(o.port, `${path}.port`),
    health: text(o.health, `${path}.health`),
    weight: countOrNull(o.weight, `${path}.weight`),
    inFlight: countOrNull(o.inFlight, `${path}.inFlight`),
    latencyMs: countOrNull(o.latencyMs, `${path}.latencyMs`),
    ejectedForMs: countOrNull(o.ejectedForMs, `${path}.ejectedForMs`),
    slowStartShare: countOrNull(o.slowStartShare, `${path}.slowStartShare`),
  };
}

function readUpstream(value: unknown, path: string): UpstreamStatus {
  const o = object(value, path);
  const budget = object(o.retryBudget, `${path}.retryBudget`);
  return {
    service: text(o.service, `${path}.service`),
    ready: flag(o.ready, `${path}.ready`),
    stalenessMs: countOrNull(o.stalenessMs, `${path}.stalenessMs`),
    balancer: text(o.balancer, `${path}.balancer`),
    retryBudget: {
      available: countOrNull(budget.available, `${path}.retryBudget.available`),
      requests: countOrNull(budget.requests, `${path}.retryBudget.requests`),
      retries: countOrNull(budget.retries, `${path}.retryBudget.retries`),
      exhausted: countOrNull(budget.exhausted, `${path}.retryBudget.exhausted`),
    },
    ejected: countOrNull(o.ejected, `${path}.ejected`),
    instances: list(o.instances, `${path}.instances`).map((instance, i) =>
      readInstance(instance, `${path}.instances[${i}]`),
    ),
    ...(o.traffic !== undefined &&
      o.traffic !== null && { traffic: readTraffic(o.traffic, `${path}.traffic`) }),
  };
}

function readTraffic(value: unknown, path: string): TrafficStatus {
  const o = object(value, path);
  return {
    index: count(o.index, `${path}.index`),
    refused: flag(o.refused, `${path}.refused`),
    lastRefusal:
      o.lastRefusal === null || o.lastRefusal === undefined
        ? null
        : text(o.lastRefusal, `${path}.lastRefusal`),
    routes: list(o.routes, `${path}.routes`).map((route, i) => {
      const r = object(route, `${path}.routes[${i}]`);
      return {
        match: text(r.match, `${path}.routes[${i}].match`),
        next: text(r.next, `${path}.routes[${i}].next`),
      };
    }),
    splits: list(o.splits, `${path}.splits`).map((split, i) => {
      const r = object(split, `${path}.splits[${i}]`);
      return {
        weight: count(r.weight, `${path}.splits[${i}].weight`),
        next: text(r.next, `${path}.splits[${i}].next`),
      };
    }),
    targets: list(o.targets, `${path}.targets`).map((target, i) => {
      const r = object(target, `${path}.targets[${i}]`);
      return {
        id: text(r.id, `${path}.targets[${i}].id`),
        instances: count(r.instances, `${path}.targets[${i}].instances`),
        failingOverTo:
          r.failingOverTo === null || r.failingOverTo === undefined
            ? null
            : text(r.failingOverTo, `${path}.targets[${i}].failingOverTo`),
      };
    }),
  };
}

function readConfigLine(value: unknown, path: string): ConfigLine {
  const o = object(value, path);
  const refused =
    o.lastRefused === undefined || o.lastRefused === null
      ? null
      : object(o.lastRefused, `${path}.lastRefused`);
  return {
    key: text(o.key, `${path}.key`),
    index: count(o.index, `${path}.index`),
    lastGoodAt: o.lastGoodAt === undefined ? null : countOrNull(o.lastGoodAt, `${path}.lastGoodAt`),
    stale: flag(o.stale, `${path}.stale`),
    refused: count(o.refused, `${path}.refused`),
    lastRefused: refused && {
      problem: text(refused.problem, `${path}.lastRefused.problem`),
      path: typeof refused.path === 'string' ? refused.path : '',
    },
  };
}

function readLeaderLine(value: unknown, path: string): LeaderLine {
  const o = object(value, path);
  return {
    name: text(o.name, `${path}.name`),
    leader: flag(o.leader, `${path}.leader`),
    since: o.since === undefined ? null : countOrNull(o.since, `${path}.since`),
  };
}

/** Checks parsed JSON against the status shape; throws StatusDocumentError naming the bad field. */
export function readStatusDocument(value: unknown): StatusDocument {
  const root = object(value, '$');
  const service = object(root.service, '$.service');
  return {
    service: {
      name: text(service.name, '$.service.name'),
      id: text(service.id, '$.service.id'),
      state: oneOf(service.state, '$.service.state', SERVICE_STATES),
      registration: oneOf(service.registration, '$.service.registration', REGISTRATION_STATES),
    },
    upstreams: list(root.upstreams, '$.upstreams').map((upstream, i) =>
      readUpstream(upstream, `$.upstreams[${i}]`),
    ),
    ...(root.configs !== undefined && {
      configs: list(root.configs, '$.configs').map((config, i) =>
        readConfigLine(config, `$.configs[${i}]`),
      ),
    }),
    ...(root.leaders !== undefined && {
      leaders: list(root.leaders, '$.leaders').map((leader, i) =>
        readLeaderLine(leader, `$.leaders[${i}]`),
      ),
    }),
  };
}
