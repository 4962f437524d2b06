import type { ConsulClient } from '../index';
import type { Command } from './command';
import { printJson, withConsul } from './command';
import { readCatalog, toInstanceRow } from './consul-reads';
import { renderTable } from './table';

/** Health reads in flight at once: enough to be quick, few enough to be gentle on the agent. */
const CONCURRENCY = 8;

/** One line of `express-consul services`. */
export interface ServiceSummary {
  readonly name: string;
  readonly tags: readonly string[];
  readonly instances: number;
  readonly passing: number;
  readonly warning: number;
  readonly critical: number;
}

async function summarise(consul: ConsulClient, signal: AbortSignal): Promise<ServiceSummary[]> {
  const catalog = await readCatalog(consul, signal);
  const names = Object.keys(catalog).sort();
  const summaries: ServiceSummary[] = new Array<ServiceSummary>(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const at = next++;
      const name = names[at]!;
      const { data } = await consul.healthService(name, {}, { signal });
      const health = data.map((entry) => toInstanceRow(entry).health);
      summaries[at] = {
        name,
        tags: catalog[name] ?? [],
        instances: data.length,
        passing: health.filter((h) => h === 'passing').length,
        warning: health.filter((h) => h === 'warning').length,
        critical: health.filter((h) => h === 'critical').length,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, names.length) }, worker));
  return summaries;
}

/** `express-consul services`: every service in the catalog with its instance counts by health. */
export const servicesCommand: Command = {
  name: 'services',
  usage: '',
  summary: 'list the services in the Consul catalog with instance counts by health',
  arity: 0,
  async run({ io, json, signal }) {
    const summaries = await withConsul((consul) => summarise(consul, signal));
    if (json) return printJson(io, summaries);
    const count = (n: number, tone: 'green' | 'yellow' | 'red') =>
      n === 0 ? { text: '0', tone: 'dim' as const } : { text: String(n), tone };
    const lines = renderTable(
      [
        { title: 'SERVICE' },
        { title: 'INSTANCES', align: 'right' },
        { title: 'PASSING', align: 'right' },
        { title: 'WARNING', align: 'right' },
        { title: 'CRITICAL', align: 'right' },
        { title: 'TAGS' },
      ],
      summaries.map((s) => [
        s.name,
        String(s.instances),
        count(s.passing, 'green'),
        count(s.warning, 'yellow'),
        count(s.critical, 'red'),
        s.tags.join(','),
      ]),
      io.colour,
    );
    for (const line of lines) io.out(line);
  },
};
