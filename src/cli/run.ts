import { parseArgs } from 'node:util';
import type { Command, Io } from './command';
import { CliError, ExitCode, toCliError } from './exit-codes';
import { helpText } from './help';
import { terminalSafe } from './terminal-safe';
import { chainCommand } from './chain-command';
import { instancesCommand } from './instances-command';
import { servicesCommand } from './services-command';
import { statusCommand } from './status-command';
import { watchCommand } from './watch-command';

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  statusCommand,
  servicesCommand,
  instancesCommand,
  watchCommand,
  chainCommand,
];

/** Exit code of a command interrupted by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED = 130;

function parse(argv: readonly string[]): {
  command: Command | undefined;
  args: string[];
  json: boolean;
  help: boolean;
} {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new CliError(ExitCode.usage, (error as Error).message);
  }
  const [name, ...args] = parsed.positionals;
  const help = parsed.values.help === true;
  const json = parsed.values.json === true;
  if (name === undefined) {
    if (help) return { command: undefined, args, json, help };
    throw new CliError(ExitCode.usage, 'no command given (try --help)');
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new CliError(ExitCode.usage, `unknown command '${name}' (try --help)`);
  if (!help && args.length !== command.arity)
    throw new CliError(
      ExitCode.usage,
      `usage: express-consul ${command.name} ${command.usage}`.trimEnd() +
        (args.length < command.arity ? ' (missing argument)' : ' (too many arguments)'),
    );
  return { command, args, json, help };
}

/**
 * Runs the CLI on `argv` (without node and script) and resolves with its exit code. Errors are
 * reported as one line on `io.err`, prefixed with `express-consul:`; nothing here exits the process.
 */
export async function run(argv: readonly string[], io: Io, signal: AbortSignal): Promise<number> {
  try {
    const { command, args, json, help } = parse(argv);
    if (help || !command) {
      const text = command
        ? `Usage: express-consul ${command.name} ${command.usage} [--json]\n\n${command.summary}\n`
        : helpText(COMMANDS);
      io.out(text.trimEnd());
      return ExitCode.ok;
    }
    await command.run({ args, json, io, signal });
    return ExitCode.ok;
  } catch (error) {
    if (signal.aborted) {
      io.err('express-consul: interrupted');
      return INTERRUPTED;
    }
    const failure = toCliError(error);
    // Messages may quote Consul's or the status URL's answer, and the arguments as typed.
    io.err(`express-consul: ${terminalSafe(failure.message)}`);
    return failure.exitCode;
  }
}
