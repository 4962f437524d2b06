import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ConfigError } from '../errors';
import { startConsulContainer, DEFAULT_CONSUL_IMAGE } from './consul-container';
import { startConsulProcess } from './consul-process';
import { findConsulBinary } from './find-consul-binary';
import type { ConsulMode, StartConsulOptions, StartedConsul } from './start-consul-options';

const MODES: readonly ConsulMode[] = ['binary', 'container'];

const KEYS: KnownKeys<StartConsulOptions> = {
  mode: true,
  binary: true,
  image: true,
  network: true,
  startupTimeoutMs: true,
  signal: true,
};

function chooseMode(reader: OptionReader<StartConsulOptions>): ConsulMode | undefined {
  const mode = reader.oneOf('mode', MODES);
  if (mode !== undefined) return mode;
  const fromEnv = process.env.EXPRESS_CONSUL_TEST_CONSUL;
  if (fromEnv === undefined || fromEnv === '') return undefined;
  if (!MODES.includes(fromEnv as ConsulMode)) {
    throw new ConfigError('EXPRESS_CONSUL_TEST_CONSUL', "'binary' or 'container'", fromEnv);
  }
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
  const reader = OptionReader.strict(options, '', KEYS);
  const timeoutMs = reader.ms('startupTimeoutMs', { min: 0, minExclusive: true }, 60_000);
  const network = reader.oneOf('network', ['bridge', 'host'] as const, 'bridge');
  const mode = chooseMode(reader);
  const binary = mode === 'container' ? undefined : (options.binary ?? findConsulBinary());
  if (mode === 'binary' && binary === undefined) {
    throw new ConfigError(
      'mode',
      "'container', or 'binary' with CONSUL_BIN, the binary option or consul on PATH",
      mode,
    );
  }
  if (binary !== undefined) return startConsulProcess(binary, timeoutMs, options.signal);
  return startConsulContainer(
    options.image ?? DEFAULT_CONSUL_IMAGE,
    network,
    timeoutMs,
    options.signal,
  );
}
