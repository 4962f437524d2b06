// Each scenario records its figures in bench/chaos-results.json (one row per scenario, replaced by
// its latest run), which `npm run chaos:readme` renders into the Reliability table of docs/reliability.md.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';

/** One scenario's figures. */
export interface ChaosRow {
  readonly scenario: string;
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  readonly retried: number;
  readonly ejected: number;
  /** Failures of the naive control in the same run; null where the scenario has no control. */
  readonly controlFailed: number | null;
  readonly p99Ms: number;
  readonly machine: string;
  readonly date: string;
}

export interface ChaosResults {
  readonly rows: ChaosRow[];
}

export const CHAOS_RESULTS_FILE = resolve(__dirname, '../bench/chaos-results.json');

/** Where the figures were measured: CPU, cores, Node, Consul, load average at the time. */
export function describeMachine(): string {
  const consul = process.env.CONSUL_BIN;
  const consulVersion =
    consul === undefined
      ? 'unknown'
      : execFileSync(consul, ['version'], { encoding: 'utf8' })
          .split('\n')[0]!
          .replace('Consul ', '');
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, Node ${process.versions.node}, Consul ${consulVersion}, load ${loadavg()[0]!.toFixed(1)}`;
}

/** Prints the row and stores it in place of the scenario's previous one. */
export function recordRow(row: Omit<ChaosRow, 'machine' | 'date'>): void {
  const full: ChaosRow = { ...row, machine: describeMachine(), date: new Date().toISOString() };
  process.stdout.write(`\n[chaos] ${JSON.stringify(full)}\n`);
  const results: ChaosResults = existsSync(CHAOS_RESULTS_FILE)
    ? (JSON.parse(readFileSync(CHAOS_RESULTS_FILE, 'utf8')) as ChaosResults)
    : { rows: [] };
  const rows = results.rows.filter((r) => r.scenario !== row.scenario);
  rows.push(full);
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
  writeFileSync(CHAOS_RESULTS_FILE, `${JSON.stringify({ rows }, null, 2)}\n`);
}
