import type { HealthServiceEntry } from '../consul/consul-types';
import { readInstanceAddress } from './instance-address';
import { instanceIdentity } from './service-instance';
import { compareInstances } from './compare-instances';
import { shareUnchangedInSteps } from './share-unchanged';
import { sortInSteps } from './sliced-sort';
import { runAtOnce } from '../consul/time-slicer';
import type { ServiceInstance } from './service-instance';

// Consul fills in these weights when a registration gives none.
const DEFAULT_PASSING_WEIGHT = 1;
const DEFAULT_WARNING_WEIGHT = 1;
/** Consul's own bound on weights ("DNS Weight must be between 0 and 65535"). */
const MAX_WEIGHT = 65_535;
/** Longest value shown in a rejection's detail, in characters. */
const MAX_SHOWN_CHARS = 60;

const EMPTY_TAGS: readonly string[] = Object.freeze([]);
const EMPTY_META: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Why an entry of Consul's answer was left out; a closed set, so it can be a metric label.
 * `malformed`: not the shape of a health entry; `identity`: node, service id or name missing or
 * not text; `address`, `port`, `weights`, `tags`, `meta`, `checks`: that field is invalid;
 * `duplicate`: a second entry with the node and service id of an earlier one.
 */
export type InvalidInstanceReason =
  | 'malformed'
  | 'identity'
  | 'address'
  | 'port'
  | 'weights'
  | 'tags'
  | 'meta'
  | 'checks'
  | 'duplicate';

/** Every {@link InvalidInstanceReason}, in a stable order. */
export const INVALID_INSTANCE_REASONS: readonly InvalidInstanceReason[] = Object.freeze([
  'malformed',
  'identity',
  'address',
  'port',
  'weights',
  'tags',
  'meta',
  'checks',
  'duplicate',
]);

/** An entry of Consul's answer left out because its registration is invalid. */
export interface InstanceRejection {
  /** The node, as Consul sent it when it was text, else a description of its type. */
  readonly node: string;
  /** The service id, as Consul sent it when it was text, else a description of its type. */
  readonly serviceId: string;
  /** `instanceIdentity(node, serviceId)`: escaped, safe to log. */
  readonly identity: string;
  readonly reason: InvalidInstanceReason;
  /** What is wrong, with the value shown short and escaped (one line, printable ASCII). */
  readonly detail: string;
}

/** A parsed answer: the instances to route to and the entries left out as invalid. */
export interface ParsedServiceInstances {
  /** Frozen, sorted by identity. */
  readonly instances: readonly ServiceInstance[];
  /** In the answer's order. */
  readonly rejected: readonly InstanceRejection[];
}

type Read =
  | { readonly instance: ServiceInstance }
  | { readonly rejection: InstanceRejection }
  /** Critical, in maintenance, or a check state this library does not know: not listed. */
  | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A lone surrogate: text no UTF-8 (and so no Consul, which is Go) can carry. */
const LONE_SURROGATE = /\p{Cs}/u;

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !LONE_SURROGATE.test(value);
}

/** A value shown in a detail: JSON-quoted (so controls are escaped), cut short, ASCII only. */
function show(value: unknown): string {
  let text: string;
  if (typeof value === 'string') {
    text =
      value.length > MAX_SHOWN_CHARS
        ? `${JSON.stringify(value.slice(0, MAX_SHOWN_CHARS))}... (${value.length} characters)`
        : JSON.stringify(value);
  } else if (typeof value === 'number') {
    text = String(value);
  } else if (value === null) {
    text = 'null';
  } else if (Array.isArray(value)) {
    text = `a list of ${value.length}`;
  } else {
    text = typeof value === 'object' ? 'an object' : `a ${typeof value}`;
  }
  return text.replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function describeKey(value: unknown): string {
  return typeof value === 'string' ? value : `(${show(value)})`;
}

/**
 * Worst status among an entry's checks (service and node checks alike): `undefined` when the
 * instance must not receive traffic (any critical or maintenance check, or a status this library
 * does not know: an unknown state is not trusted with traffic), `'malformed'` when a check is not
 * a check. No checks at all means passing, as in Consul.
 */
function aggregateStatus(checks: unknown[]): ServiceInstance['status'] | 'malformed' | undefined {
  let status: ServiceInstance['status'] = 'passing';
  for (const check of checks) {
    if (!isRecord(check) || typeof check.Status !== 'string') return 'malformed';
    switch (check.Status) {
      case 'passing':
        break;
      case 'warning':
        status = 'warning';
        break;
      default:
        return undefined;
    }
  }
  return status;
}

function isWeight(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_WEIGHT;
}

/** The weight for `status`, or a detail saying what is wrong with the weights. */
function readWeight(value: unknown, status: ServiceInstance['status']): number | string {
  if (value === undefined || value === null) {
    return status === 'passing' ? DEFAULT_PASSING_WEIGHT : DEFAULT_WARNING_WEIGHT;
  }
  if (!isRecord(value)) return `weights ${show(value)} are not an object`;
  for (const key of ['Passing', 'Warning'] as const) {
    const weight = value[key];
    if (weight !== undefined && weight !== null && !isWeight(weight)) {
      return `weight ${key} ${show(weight)} is not an integer from 0 to ${MAX_WEIGHT}`;
    }
  }
  const chosen = status === 'passing' ? value.Passing : value.Warning;
  if (isWeight(chosen)) return chosen;
  return status === 'passing' ? DEFAULT_PASSING_WEIGHT : DEFAULT_WARNING_WEIGHT;
}

function readTags(value: unknown): readonly string[] | undefined {
  if (value === undefined || value === null) return EMPTY_TAGS;
  if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string')) return undefined;
  return value.length === 0 ? EMPTY_TAGS : Object.freeze([...value]);
}

function readMeta(value: unknown): Readonly<Record<string, string>> | undefined {
  if (value === undefined || value === null) return EMPTY_META;
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value);
  if (!entries.every(([, v]) => typeof v === 'string')) return undefined;
  // Object.fromEntries defines own data properties: a `__proto__` key stays a key (Consul allows
  // it: it matches its meta key rule) and never becomes the object's prototype.
  return entries.length === 0
    ? EMPTY_META
    : Object.freeze(Object.fromEntries(entries) as Record<string, string>);
}

/** Reads one entry: an instance, a rejection, or undefined when it is not to be listed. */
function readEntry(entry: unknown): Read {
  const service = isRecord(entry) ? entry.Service : undefined;
  const node = isRecord(entry) ? entry.Node : undefined;
  const nodeName = isRecord(node) ? node.Node : undefined;
  const serviceId = isRecord(service) ? service.ID : undefined;
  const reject = (reason: InvalidInstanceReason, detail: string): Read => {
    const nodeKey = describeKey(nodeName);
    const idKey = describeKey(serviceId);
    return {
      rejection: {
        node: nodeKey,
        serviceId: idKey,
        identity: instanceIdentity(nodeKey, idKey),
        reason,
        detail,
      },
    };
  };
  if (!isRecord(entry) || !isRecord(service) || !isRecord(node)) {
    return reject('malformed', 'not a health entry (Node, Service and Checks objects)');
  }
  if (!Array.isArray(entry.Checks)) return reject('malformed', 'Checks is not a list');
  if (!isText(nodeName)) return reject('identity', `node ${show(nodeName)} is not a name`);
  if (!isText(serviceId)) return reject('identity', `service id ${show(serviceId)} is not an id`);
  if (typeof service.Service !== 'string') {
    return reject('identity', `service name ${show(service.Service)} is not text`);
  }

  const status = aggregateStatus(entry.Checks);
  if (status === 'malformed') return reject('checks', 'a check is not an object with a Status');
  if (status === undefined) return undefined;

  // An empty service address means "use the node's", which is how Consul's DNS answers too.
  const given = service.Address === '' || service.Address == null ? node.Address : service.Address;
  const address = typeof given === 'string' ? readInstanceAddress(given) : undefined;
  if (address === undefined) {
    return reject(
      'address',
      `address ${show(given)} is not an IPv4 or IPv6 literal or a DNS hostname without port`,
    );
  }
  const port = service.Port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    return reject('port', `port ${show(port)} is not an integer from 1 to 65535`);
  }
  const weight = readWeight(service.Weights, status);
  if (typeof weight === 'string') return reject('weights', weight);
  const tags = readTags(service.Tags);
  if (tags === undefined)
    return reject('tags', `tags ${show(service.Tags)} are not a list of text`);
  const meta = readMeta(service.Meta);
  if (meta === undefined) {
    return reject('meta', `meta ${show(service.Meta)} is not an object of text values`);
  }

  return {
    instance: Object.freeze({
      id: instanceIdentity(nodeName, serviceId),
      serviceId,
      service: service.Service,
      node: nodeName,
      address,
      port,
      tags,
      meta,
      status,
      weight,
    }),
  };
}

/**
 * Converts one entry of `GET /v1/health/service/:name` into a frozen ServiceInstance, or returns
 * undefined when the entry is critical, in maintenance or invalid (see
 * {@link parseServiceInstances} for what is valid). Never throws, whatever the entry holds.
 */
export function toServiceInstance(entry: HealthServiceEntry): ServiceInstance | undefined {
  const read = readEntry(entry);
  return read !== undefined && 'instance' in read ? read.instance : undefined;
}

export { compareInstances } from './compare-instances';

/** Reads the entries of one answer, one at a time: instances, rejections, duplicates. */
class AnswerReader {
  readonly instances: ServiceInstance[] = [];
  readonly rejected: InstanceRejection[] = [];
  private readonly seen = new Set<string>();

  add(entry: unknown): void {
    const read = readEntry(entry);
    if (read === undefined) return;
    if ('rejection' in read) {
      this.rejected.push(read.rejection);
      return;
    }
    const { instance } = read;
    if (this.seen.has(instance.id)) {
      this.rejected.push({
        node: instance.node,
        serviceId: instance.serviceId,
        identity: instance.id,
        reason: 'duplicate',
        detail: `a second entry for node ${show(instance.node)} and service id ${show(instance.serviceId)}; the first is kept`,
      });
      return;
    }
    this.seen.add(instance.id);
    this.instances.push(instance);
  }
}

/** A parsed answer, compared with the list it may replace. */
export interface ParsedAnswer extends ParsedServiceInstances {
  /** False when the instances have the content of `previous` (then `instances` holds its objects). */
  readonly changed: boolean;
}

/**
 * {@link parseServiceInstances} as steps (see time-slicer: run at once, or in slices for a large
 * answer), with each instance that did not change since `previous` (a list this function
 * returned) given as the object `previous` holds.
 */
export function* parseAnswerInSteps(
  entries: readonly HealthServiceEntry[],
  previous: readonly ServiceInstance[],
): Generator<void, ParsedAnswer> {
  const reader = new AnswerReader();
  for (let i = 0; i < entries.length; i++) {
    reader.add(entries[i]);
    if ((i & 31) === 0) yield;
  }
  const { instances, rejected } = reader;
  yield* sortInSteps(instances, compareInstances);
  const changed = yield* shareUnchangedInSteps(instances, previous);
  return { instances: Object.freeze(instances), rejected: Object.freeze(rejected), changed };
}

/**
 * Converts a whole health answer, which is untrusted input (any holder of `service:write` on some
 * name writes registrations): critical and maintenance entries are dropped; invalid ones are left
 * out and returned as rejections: an address that is not an IP literal or an RFC 1123 hostname
 * (see `readInstanceAddress`), a port outside 1-65535, weights outside 0-65535, tags or meta that
 * are not text, a missing node or service id, a second entry with the node and id of an earlier
 * one (the first is kept). The instances are sorted by identity, so two answers with the same
 * content compare equal element by element. Never throws.
 */
export function parseServiceInstances(
  entries: readonly HealthServiceEntry[],
): ParsedServiceInstances {
  const { instances, rejected } = runAtOnce(parseAnswerInSteps(entries, []));
  return { instances, rejected };
}

/**
 * The instances of a whole health answer (see {@link parseServiceInstances}), without the
 * rejections. The returned array and its elements are frozen.
 */
export function toServiceInstances(
  entries: readonly HealthServiceEntry[],
): readonly ServiceInstance[] {
  return parseServiceInstances(entries).instances;
}
