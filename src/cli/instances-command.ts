import type { Command } from './command';
import { printJson, withConsul } from './command';
import { readInstances } from './consul-reads';
import type { InstanceRow } from './consul-reads';
import { healthTone, renderTable } from './table';
import type { Cell } from './table';

/** The table row of one instance, shared with `watch`. */
export function instanceCells(instance: InstanceRow): Cell[] {
  return [
    instance.id,
    `${instance.address}:${instance.port}`,
    { text: instance.health, tone: healthTone(instance.health) },
    String(instance.weight),
    instance.tags.join(','),
  ];
}

/** The columns of instanceCells. */
export const INSTANCE_COLUMNS = [
  { title: 'INSTANCE (NODE/ID)' },
  { title: 'ADDRESS' },
  { title: 'HEALTH' },
  { title: 'WEIGHT', align: 'right' },
  { title: 'TAGS' },
] as const;

/** `express-consul instances NAME`: every registered instance of one service, whatever its health. */
export const instancesCommand: Command = {
  name: 'instances',
  usage: 'NAME',
  summary: 'list every instance of a service: identity, address, health, weight, tags',
  arity: 1,
  async run({ io, json, signal, args }) {
    const instances = await withConsul((consul) => readInstances(consul, args[0]!, signal));
    if (json) return printJson(io, instances);
    for (const line of renderTable(INSTANCE_COLUMNS, instances.map(instanceCells), io.colour))
      io.out(line);
  },
};
