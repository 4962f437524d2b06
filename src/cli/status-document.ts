import type { ExpressConsulState, RegistrationState } from '../index';

// The JSON that `consul.statusHandler()` answers, as the CLI and the demo read it. This side only
// reads it: every field is checked, so a wrong URL or an incompatible version fails with the path of
// the first field that does not fit instead of printing `undefined`. Unknown fields are ignored so
// that newer services still work with an older CLI. Numbers are null when the service does not know.

/** One instance of an upstream, as the calling service sees it. */
export interface InstanceStatus {
  /** Identity in the datacenter: `NODE/SERVICE_ID`. */
  readonly id: string;
  readonly serviceId: string;
  readonly node: string;
  readonly address: string;
  readonly port: number;
  /** Consul's aggregate health (`passing`, `warning`, ...). */
  readonly health: string;
  readonly weight: number | null;
  /** Requests in flight to it from this service. */
  readonly inFlight: number | null;
  /** The balancer's latency estimate, in ms. */
  readonly latencyMs: number | null;
  /** Ms left of an outlier ejection; 0 when not ejected. */
  readonly ejectedForMs: number | null;
  /** Share of its full traffic while slow start ramps it up (0..1); null when not ramping. */
  readonly slowStartShare: number | null;
}

/** The retry budget of one upstream. */
export interface RetryBudgetStatus {
  readonly available: number | null;
  readonly requests: number | null;
  readonly retries: number | null;
  readonly exhausted: number | null;
}

/** One service the calling service sends requests to. */
export interface UpstreamStatus {
  readonly service: string;
  /** True once Consul answered the first time. */
  readonly ready: boolean;
  /** Age of the instance list while Consul cannot be reached, in ms; 0 when fresh. */
  readonly stalenessMs: number | null;
  readonly balancer: string;
  readonly retryBudget: RetryBudgetStatus;
  /** Instances currently ejected by outlier detection. */
  readonly ejected: number | null;
  readonly instances: readonly InstanceStatus[];
}

/** The whole answer of `consul.statusHandler()`. */
export interface StatusDocument {
  readonly service: {
    readonly name: string;
    readonly id: string;
    readonly state: ExpressConsulState;
    readonly registration: RegistrationState;
  };
  readonly upstreams: readonly UpstreamStatus[];
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
const REGISTRATION_STATES: readonly RegistrationState[] = [
  'idle',
  'registering',
  'registered',
  'deregistering',
  'deregistered',
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
  };
}
