import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError } from '../errors';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Consul binary to run, or undefined when there is none: `CONSUL_BIN`, then `consul` on `PATH`,
 * then the cache this project's `scripts/consul.sh` builds into
 * (`$EXPRESS_CONSUL_CACHE` or `$XDG_CACHE_HOME/express-consul` or `~/.cache/express-consul`).
 * A `CONSUL_BIN` that is not executable is an error, not a reason to look elsewhere.
 */
export function findConsulBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CONSUL_BIN) {
    if (!isExecutable(env.CONSUL_BIN))
      throw new ConfigError('CONSUL_BIN', 'the path of an executable file', env.CONSUL_BIN);
    return env.CONSUL_BIN;
  }
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'consul'));
  const cacheRoot =
    env.EXPRESS_CONSUL_CACHE ??
    join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'express-consul');
  const cached = join(cacheRoot, 'consul-v1.16.3', 'consul');
  return [...onPath, cached].find(isExecutable);
}
