import { ConsulClient } from '../consul/consul-client';
import { terminalSafeJson } from './terminal-safe';

/** Where a command writes: one call per line, colours only when `colour` is on. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  readonly colour: boolean;
}

/** What a command runs with, already parsed. */
export interface CommandContext {
  /** Positional arguments after the command name. */
  readonly args: readonly string[];
  /** `--json`: machine-readable output only, on stdout. */
  readonly json: boolean;
  readonly io: Io;
  /** Fires on Ctrl-C / SIGTERM. */
  readonly signal: AbortSignal;
}

/** One `express-consul` sub-command. */
export interface Command {
  readonly name: string;
  /** Its arguments, as shown in usage lines (e.g. `NAME`). */
  readonly usage: string;
  readonly summary: string;
  /** How many positional arguments it takes. */
  readonly arity: number;
  /** Resolves when done; throws CliError (or a library error) on failure. */
  run(context: CommandContext): Promise<void>;
}

/**
 * Runs `body` with a ConsulClient configured from Consul's own environment variables
 * (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN[_FILE], CONSUL_HTTP_SSL, CONSUL_CACERT, ...), closed after.
 */
export async function withConsul<T>(body: (consul: ConsulClient) => Promise<T>): Promise<T> {
  const consul = new ConsulClient();
  try {
    return await body(consul);
  } finally {
    await consul.close();
  }
}

/** Prints `value` as one line of exact JSON whose bytes hold no terminal control (terminal-safe.ts). */
export function printJson(io: Io, value: unknown): void {
  io.out(terminalSafeJson(value));
}
