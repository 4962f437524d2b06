import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs a command and resolves with its stdout; rejects with its stderr in the message. */
export async function exec(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(
      `${command} ${args.join(' ')} failed: ${(error as Error).message}\n${stdout ?? ''}\n${stderr ?? ''}`,
    );
  }
}

/** The engine's containers, networks, volumes and images (ids, sorted), to compare before and after. */
export interface DockerState {
  readonly containers: readonly string[];
  readonly networks: readonly string[];
  readonly volumes: readonly string[];
  readonly images: readonly string[];
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .sort();

/** What `docker ps -a`, `docker network ls`, `docker volume ls` and `docker images -a` list now. */
export async function dockerState(): Promise<DockerState> {
  const [containers, networks, volumes, images] = await Promise.all([
    exec('docker', ['ps', '-a', '-q', '--no-trunc']),
    exec('docker', ['network', 'ls', '-q', '--no-trunc']),
    exec('docker', ['volume', 'ls', '-q']),
    exec('docker', ['images', '-a', '-q', '--no-trunc']),
  ]);
  return {
    containers: lines(containers),
    networks: lines(networks),
    volumes: lines(volumes),
    images: [...new Set(lines(images))],
  };
}

/**
 * Image ids a classic (non-BuildKit) build printed as ` ---> ID` for its steps. Multi-stage builds
 * leave each earlier stage's last image behind untagged; these ids let a test remove exactly the
 * ones its own build created, and nothing another build made.
 */
export function builtImageIds(buildOutput: string): Set<string> {
  return new Set([...buildOutput.matchAll(/ ---> ([0-9a-f]{12})\b/g)].map((match) => match[1]!));
}
