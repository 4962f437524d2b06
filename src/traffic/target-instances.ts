// The instances of one chain target: the health watch of the target's service (in its
// datacenter) narrowed by the target's subset (`Subset.Filter`, `Subset.OnlyPassing`). Targets of
// one service share that watch, so a v1/v2 split costs one blocking query, not one per subset.
//
// The filter runs here, on our ServiceInstance, with src/traffic/filter-expression.ts, when it
// reads only fields the instance carries as Consul sent them (Service.ID, .Service, .Tags, .Meta,
// .Port, Node.Node): what subset filters almost always use. A filter that reads anything else
// (Node.Meta, Checks, Service.Address, which we keep resolved to the node's address...) would be
// judged on Go zero values here, so its target gets its own watch with Consul's `filter=`
// instead: Consul runs it on the full entry, and the answer is exact.
import type { ServiceInstance } from '../watch/service-instance';
import { parseFilterAst } from './filter-expression';
import type { FilterAst } from './filter-expression';
import type { ChainTarget } from './discovery-chain';

/** What a routing table follows: a sorted, frozen instance list and its changes. */
export interface InstanceSource {
  instances(): readonly ServiceInstance[];
  onChange(listener: () => void): () => void;
}

/** The selector heads (`Service.Meta`, ...) a filter may read to be run on our instances. */
const LOCAL_FIELDS = new Set([
  'Service.ID',
  'Service.Service',
  'Service.Tags',
  'Service.Meta',
  'Service.Port',
  'Node.Node',
]);

function collectSelectors(ast: FilterAst, into: string[][]): void {
  if (ast.type === 'match') into.push([...ast.selector]);
  else if (ast.type === 'not') collectSelectors(ast.operand, into);
  else for (const operand of ast.operands) collectSelectors(operand, into);
}

/** Whether `target`'s filter can run on our instances (else Consul must run it: see above). */
export function filtersLocally(target: ChainTarget): boolean {
  const source = target.filter.source;
  if (source === '') return true;
  const selectors: string[][] = [];
  collectSelectors(parseFilterAst(source), selectors);
  return selectors.every((selector) => LOCAL_FIELDS.has(selector.slice(0, 2).join('.')));
}

/** Our instance in the shape of the health entry a filter reads (only the fields above). */
function entryView(instance: ServiceInstance): unknown {
  return {
    Node: { Node: instance.node },
    Service: {
      ID: instance.serviceId,
      Service: instance.service,
      Tags: instance.tags,
      Meta: instance.meta,
      Port: instance.port,
    },
  };
}

const EMPTY: readonly ServiceInstance[] = Object.freeze([]);

/**
 * The instances of `source` that `keep` accepts, as a source itself: the same frozen array until
 * the membership changes (routing tables compare by identity), order kept (sorted by id).
 */
export class FilteredInstances implements InstanceSource {
  private list: readonly ServiceInstance[] = EMPTY;
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: InstanceSource,
    private readonly keep: (instance: ServiceInstance) => boolean,
  ) {
    this.refresh();
    this.unsubscribe = source.onChange(() => {
      if (this.refresh()) for (const listener of [...this.listeners]) listener();
    });
  }

  instances(): readonly ServiceInstance[] {
    return this.list;
  }

  onChange(listener: () => void): () => void {
    const entry = (): void => listener();
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  /** Recomputes the list; true when it changed. */
  private refresh(): boolean {
    const kept = this.source.instances().filter(this.keep);
    const before = this.list;
    if (kept.length === before.length && kept.every((instance, i) => instance === before[i])) {
      return false;
    }
    this.list = Object.freeze(kept);
    return true;
  }
}

/** The predicate of a target's subset: OnlyPassing, and its filter when it runs here. */
export function subsetPredicate(
  target: ChainTarget,
  local: boolean,
): (instance: ServiceInstance) => boolean {
  const onlyPassing = target.onlyPassing;
  const filter = local && target.filter.source !== '' ? target.filter : undefined;
  return (instance) =>
    (!onlyPassing || instance.status === 'passing') &&
    (filter === undefined || filter.matches(entryView(instance)));
}
