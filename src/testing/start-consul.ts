import { ConfigError } from '../errors';
import { startConsulContainer, DEFAULT_CONSUL_IMAGE } from './consul-container';
import { startConsulProcess } from './consul-process';
import { findConsulBinary } from './find-consul-binary';
import type { ConsulMode, StartConsulOptions, StartedConsul } from './start-consul-options';

const MODES: readonly ConsulMode[] = ['binary', 'container'];

function chooseMode(options: StartConsulOptions): ConsulMode | undefined {
  if (options.mode !== undefined) {
    if (!MODES.includes(options.mode))
      throw new ConfigError('mode', `must be 'binary' or 'container', got ${String(options.mode)}`);
    return options.mode;
  }
  const fromEnv = process.env.EXPRESS_CONSUL_TEST_CONSUL;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (!MODES.includes(fromEnv as ConsulMode))
    throw new ConfigError(
      'EXPRESS_CONSUL_TEST_CONSUL',
      `must be 'binary' or 'container', got ${fromEnv}`,
    );
  return fromEnv as ConsulMode;
}

/**
 * Starts a real Consul dev agent for a test, on 127.0.0.1 only: a local binary when there is one
 * (or `mode: 'binary'`), otherwise the official image through testcontainers (an optional peer
 * dependency, loaded only in that mode). Resolves once the agent has elected itself leader.
 *
 * ```ts
 * await using consul = await startConsul();
 * process.env.CONSUL_HTTP_ADDR = consul.address;
 * ```
 */
export async function startConsul(options: StartConsulOptions = {}): Promise<StartedConsul> {
  const timeoutMs = options.startupTimeoutMs ?? 60_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new ConfigError('startupTimeoutMs', `must be a positive number of ms, got ${timeoutMs}`);
  const network = options.network ?? 'bridge';
  if (network !== 'bridge' && network !== 'host')
    throw new ConfigError('network', `must be 'bridge' or 'host', got ${String(network)}`);
  const mode = chooseMode(options);
  const binary = mode === 'container' ? undefined : (options.binary ?? findConsulBinary());
  if (mode === 'binary' && binary === undefined)
    throw new ConfigError(
      'mode',
      "'binary' found no consul: set CONSUL_BIN or the binary option, or put consul on PATH",
    );
  if (binary !== undefined) return startConsulProcess(binary, timeoutMs, options.signal);
  return startConsulContainer(
    options.image ?? DEFAULT_CONSUL_IMAGE,
    network,
    timeoutMs,
    options.signal,
  );
}
