import type { Command, Io } from './command';
import { printJson } from './command';
import { fetchStatusDocument, parseStatusUrl } from './read-status';
import type { TrafficStatus } from '../admin/status';
import type { InstanceStatus, StatusDocument, UpstreamStatus } from './status-document';
import { healthTone, paint, renderTable } from './table';
import type { Cell } from './table';
import { terminalSafe } from './terminal-safe';

/** How long `status` waits for the service's answer, in ms. */
const STATUS_TIMEOUT_MS = 5_000;

const known = (value: number | null, unit = ''): string =>
  value === null ? '-' : `${Math.round(value * 10) / 10}${unit}`;

function instanceCells(instance: InstanceStatus): Cell[] {
  const ejected = instance.ejectedForMs !== null && instance.ejectedForMs > 0;
  return [
    instance.id,
    `${instance.address}:${instance.port}`,
    { text: instance.health, tone: healthTone(instance.health) },
    known(instance.weight),
    known(instance.inFlight),
    known(instance.latencyMs, ' ms'),
    ejected ? { text: `${known(instance.ejectedForMs)} ms`, tone: 'red' } : '-',
    instance.slowStartShare === null ? '-' : `${Math.round(instance.slowStartShare * 100)}%`,
  ];
}

function upstreamHeadline(upstream: UpstreamStatus, colour: boolean): string {
  const budget = upstream.retryBudget;
  const stale =
    upstream.stalenessMs !== null && upstream.stalenessMs > 0
      ? paint(`stale for ${known(upstream.stalenessMs)} ms`, 'yellow', colour)
      : 'fresh';
  return [
    paint(upstream.service, 'bold', colour),
    upstream.ready ? paint('ready', 'green', colour) : paint('not ready', 'yellow', colour),
    stale,
    `balancer ${terminalSafe(upstream.balancer)}`,
    `retry budget ${known(budget.available)} left (${known(budget.requests)} requests, ` +
      `${known(budget.retries)} retries, ${known(budget.exhausted)} refused)`,
    `ejected ${known(upstream.ejected)}`,
  ].join('  ');
}

/** Prints a status document as a headline and one table per upstream. */
export function printStatus(io: Io, document: StatusDocument): void {
  const { service } = document;
  const state = paint(service.state, service.state === 'running' ? 'green' : 'yellow', io.colour);
  const registration = paint(
    service.registration,
    service.registration === 'registered' ? 'green' : 'yellow',
    io.colour,
  );
  io.out(
    `${paint(service.name, 'bold', io.colour)} ${terminalSafe(service.id)}  ${state}  ${registration}`,
  );
  if (document.upstreams.length === 0) io.out('no upstreams called yet');
  for (const upstream of document.upstreams) {
    io.out('');
    io.out(upstreamHeadline(upstream, io.colour));
    const lines = renderTable(
      [
        { title: 'INSTANCE (NODE/ID)' },
        { title: 'ADDRESS' },
        { title: 'HEALTH' },
        { title: 'WEIGHT', align: 'right' },
        { title: 'IN-FLIGHT', align: 'right' },
        { title: 'LATENCY', align: 'right' },
        { title: 'EJECTED', align: 'right' },
        { title: 'SLOW-START', align: 'right' },
      ],
      upstream.instances.map(instanceCells),
      io.colour,
    );
    for (const line of lines) io.out(line);
    if (upstream.traffic !== undefined) printTraffic(io, upstream.traffic);
  }
  printControlPlane(io, document);
}

/** The discovery chain an upstream's calls follow: routes, splits, then each target. */
function printTraffic(io: Io, traffic: TrafficStatus): void {
  const { colour } = io;
  const chain = traffic.refused
    ? paint(
        `last good chain kept, newest refused: ${traffic.lastRefusal ?? 'no reason given'}`,
        'yellow',
        colour,
      )
    : 'current';
  io.out(`  chain index ${traffic.index}  ${chain}`);
  traffic.routes.forEach((route, i) => {
    io.out(`  route ${i + 1}  ${terminalSafe(route.match)} -> ${terminalSafe(route.next)}`);
  });
  for (const split of traffic.splits) {
    io.out(`  split ${split.weight}%  -> ${terminalSafe(split.next)}`);
  }
  const rows = traffic.targets.map((target): Cell[] => [
    target.id,
    { text: String(target.instances), tone: target.instances > 0 ? 'green' : 'red' },
    target.failingOverTo === null
      ? target.instances > 0
        ? '-'
        : { text: 'none: no instance here nor in a failover target', tone: 'red' }
      : { text: target.failingOverTo, tone: 'yellow' },
  ]);
  const columns = [
    { title: 'TARGET' },
    { title: 'INSTANCES', align: 'right' },
    { title: 'FAILING OVER TO' },
  ] as const;
  for (const line of renderTable(columns, rows, colour)) io.out(`  ${line}`);
}

const at = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

/** One line per KV configuration and per leader election. */
function printControlPlane(io: Io, document: StatusDocument): void {
  for (const config of document.configs ?? []) {
    const refused = config.lastRefused
      ? paint(
          `refused ${config.refused} (last: ${config.lastRefused.problem}${config.lastRefused.path ? ` at ${config.lastRefused.path}` : ''})`,
          'yellow',
          io.colour,
        )
      : `refused ${config.refused}`;
    const freshness = config.stale ? paint('stale', 'yellow', io.colour) : 'fresh';
    io.out(
      `config ${paint(config.key, 'bold', io.colour)}  index ${config.index}  last good ${at(config.lastGoodAt)}  ${freshness}  ${refused}`,
    );
  }
  for (const leader of document.leaders ?? []) {
    const role = leader.leader
      ? paint(`leader since ${at(leader.since)}`, 'green', io.colour)
      : 'follower';
    io.out(`election ${paint(leader.name, 'bold', io.colour)}  ${role}`);
  }
}

/** `express-consul status URL`: reads a service's `consul.statusHandler()` answer and prints it. */
export const statusCommand: Command = {
  name: 'status',
  usage: 'URL',
  summary: "show a service's view of its upstreams, read from its status route",
  arity: 1,
  async run({ io, json, signal, args }) {
    const url = parseStatusUrl(args[0]!);
    const document = await fetchStatusDocument(url, { timeoutMs: STATUS_TIMEOUT_MS, signal });
    if (json) printJson(io, document);
    else printStatus(io, document);
  },
};
