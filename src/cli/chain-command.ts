import { DEFAULTS } from '../config/defaults';
import type { ConsulClient } from '../consul/consul-client';
import { toServiceInstances } from '../watch/to-service-instance';
import { inChainTenancy, parseDiscoveryChain } from '../traffic/discovery-chain';
import type { ChainTarget } from '../traffic/discovery-chain';
import { filtersLocally, subsetPredicate } from '../traffic/target-instances';
import type { Command, Io } from './command';
import { printJson, withConsul } from './command';
import { chainView } from './chain-view';
import { toCliError } from './exit-codes';
import type { ChainView, ResolverView, TargetCount } from './chain-view';
import { paint, renderTable } from './table';
import type { Cell } from './table';
import { terminalSafe } from './terminal-safe';

/** Health reads in flight at once while counting the targets' instances. */
const COUNT_CONCURRENCY = 8;

/**
 * A target's instances as the library counts them: the health answer of its service in its
 * datacenter, narrowed by the same rule as `FilteredInstances` (the subset filter run here when
 * it reads only fields our instances carry, else by Consul with `filter=`, as the watch does).
 */
async function countTarget(
  consul: ConsulClient,
  target: ChainTarget,
  signal: AbortSignal,
): Promise<TargetCount> {
  const here = filtersLocally(target);
  const filter = target.filter.source;
  const { data } = await consul.healthService(
    target.service,
    {
      ...(target.datacenter !== '' && { datacenter: target.datacenter }),
      ...(!here && filter !== '' && { filter }),
    },
    { signal },
  );
  const keep = subsetPredicate(target, here);
  const inSubset = here && filter !== '' ? data.filter((e) => target.filter.matches(e)) : data;
  return {
    healthy: toServiceInstances(data).filter(keep).length,
    total: inSubset.length,
    filteredBy: here ? 'library' : 'consul',
    unreadable: null,
  };
}

/**
 * countTarget, or a count saying why it could not be read: a failover datacenter that is down is
 * exactly when the chain is worth seeing, so one target's read does not fail the command.
 */
async function tryCountTarget(
  consul: ConsulClient,
  target: ChainTarget,
  signal: AbortSignal,
  budget: { readonly signal: AbortSignal; readonly ms: number },
): Promise<TargetCount> {
  try {
    return await countTarget(consul, target, AbortSignal.any([signal, budget.signal]));
  } catch (error) {
    if (signal.aborted) throw error;
    return {
      healthy: 0,
      total: 0,
      filteredBy: filtersLocally(target) ? 'library' : 'consul',
      unreadable: budget.signal.aborted
        ? `no answer within ${budget.ms} ms`
        : toCliError(error).message,
    };
  }
}

/** Options of {@link readChainView}. */
export interface ChainViewOptions {
  /**
   * Time for counting every target's instances together. Each read has the client's request
   * timeout, but in batches a hanging agent made 32 targets take 4 of them: one budget for all
   * bounds the command whatever the chain's size. Default: the default request timeout.
   */
  readonly countBudgetMs?: number;
}

/** Reads `service`'s chain and its targets' counts; DiscoveryChainError when the library refuses it. */
export async function readChainView(
  consul: ConsulClient,
  service: string,
  signal: AbortSignal,
  options: ChainViewOptions = {},
): Promise<ChainView> {
  const answer = await consul.discoveryChain(service, {}, { signal });
  const chain = parseDiscoveryChain(answer.data);
  // Peers are reached through mesh gateways: the library routes nothing there, so no count.
  // So are targets of another namespace or partition (discovery-chain.ts, inChainTenancy).
  const targets = [...chain.targets.values()].filter(
    (target) => target.peer === '' && inChainTenancy(chain, target),
  );
  const counts = new Map<string, TargetCount>();
  const ms = options.countBudgetMs ?? DEFAULTS.consul.requestTimeoutMs;
  const budget = { signal: AbortSignal.timeout(ms), ms };
  for (let i = 0; i < targets.length; i += COUNT_CONCURRENCY) {
    const batch = targets.slice(i, i + COUNT_CONCURRENCY);
    const read = await Promise.all(
      batch.map((target) => tryCountTarget(consul, target, signal, budget)),
    );
    batch.forEach((target, j) => counts.set(target.id, read[j]!));
  }
  return chainView(chain, answer.meta.index ?? null, counts);
}

const ms = (value: number | null): string => (value === null ? '-' : `${value} ms`);

function landing(resolver: ResolverView, colour: boolean): string {
  if (resolver.landsOn === null) return paint('no target has an instance', 'red', colour);
  if (resolver.failingOver) return paint(`failing over to ${resolver.landsOn}`, 'yellow', colour);
  return paint(`lands on ${resolver.landsOn}`, 'green', colour);
}

/** Prints a chain view: headline, routes, splits, resolvers, then a table of targets. */
export function printChain(io: Io, view: ChainView): void {
  const { colour } = io;
  io.out(
    `${paint(view.service, 'bold', colour)}  datacenter ${terminalSafe(view.datacenter)}  ` +
      `protocol ${terminalSafe(view.protocol)}  index ${view.index ?? '-'}  start ${terminalSafe(view.startNode)}`,
  );
  if (view.isDefault) {
    io.out('no config entries shape this chain: calls take the plain path (no chain is followed)');
  }
  if (view.routes.length > 0) {
    io.out('');
    io.out(paint('routes (first match wins)', 'bold', colour));
    const cells = view.routes.map((route, i): Cell[] => [
      String(i + 1),
      route.match,
      route.next,
      ms(route.timeoutMs),
      String(route.numRetries),
      route.retryOnStatusCodes.join(','),
      route.prefixRewrite ?? '',
    ]);
    const columns = [
      { title: '#', align: 'right' },
      { title: 'MATCH' },
      { title: 'DESTINATION' },
      { title: 'TIMEOUT', align: 'right' },
      { title: 'RETRIES', align: 'right' },
      { title: 'RETRY-ON' },
      { title: 'REWRITE' },
    ] as const;
    for (const line of renderTable(columns, cells, colour)) io.out(line);
  }
  for (const splitter of view.splitters) {
    io.out('');
    io.out(paint(`splits of ${splitter.node}`, 'bold', colour));
    const cells = splitter.splits.map((split): Cell[] => [`${split.weight}%`, split.next]);
    const columns = [{ title: 'WEIGHT', align: 'right' }, { title: 'DESTINATION' }] as const;
    for (const line of renderTable(columns, cells, colour)) io.out(line);
  }
  io.out('');
  io.out(paint('resolvers', 'bold', colour));
  for (const resolver of view.resolvers) {
    const failover =
      resolver.failover.length === 0 ? 'no failover' : `failover ${resolver.failover.join(' > ')}`;
    io.out(
      `  ${terminalSafe(resolver.target)}  ${terminalSafe(failover)}  timeout ${ms(resolver.timeoutMs)}  ${landing(resolver, colour)}`,
    );
  }
  io.out('');
  const columns = [
    { title: 'TARGET' },
    { title: 'SERVICE' },
    { title: 'SUBSET' },
    { title: 'DC' },
    { title: 'HEALTHY', align: 'right' },
    { title: 'TOTAL', align: 'right' },
    { title: 'FILTER' },
  ] as const;
  const rows = view.targets.map((target): Cell[] => [
    target.id,
    target.service,
    target.subset === '' ? '-' : target.subset,
    target.datacenter,
    target.peer !== ''
      ? { text: `peer ${target.peer}`, tone: 'dim' }
      : target.unreadable !== null
        ? { text: '?', tone: 'yellow' }
        : { text: String(target.healthy), tone: target.healthy > 0 ? 'green' : 'red' },
    target.peer !== '' || target.unreadable !== null ? '-' : String(target.total),
    (target.filter === '' ? '' : target.filter) +
      (target.onlyPassing ? ' (only passing)' : '') +
      (target.filter !== '' && target.filteredBy === 'consul' ? ' [by Consul]' : ''),
  ]);
  for (const line of renderTable(columns, rows, colour)) io.out(line);
  for (const target of view.targets) {
    if (target.unreadable === null) continue;
    io.out(paint(`${target.id}: not read: ${target.unreadable}`, 'yellow', colour));
  }
}

/** `express-consul chain NAME`: the discovery chain of NAME as the library would route by it. */
export const chainCommand: Command = {
  name: 'chain',
  usage: 'NAME',
  summary:
    "show a service's discovery chain as the library routes by it: routes, splits, failover, targets",
  arity: 1,
  async run({ io, json, signal, args }) {
    const view = await withConsul((consul) => readChainView(consul, args[0]!, signal));
    if (json) printJson(io, view);
    else printChain(io, view);
  },
};
