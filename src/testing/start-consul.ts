import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { OptionReader } from '../config/option-reader';
import type { KnownKeys } from '../config/option-reader';
import { ConfigError } from '../errors';
import { freeAgentPorts, uniqueNodeName } from './agent-command';
import type { AgentTlsFiles } from './agent-command';
import { startConsulContainer, DEFAULT_CONSUL_IMAGE } from './consul-container';
import { ConsulProcess, createTlsFiles, ownedDir } from './consul-process';
import { findConsulBinary } from './find-consul-binary';
import type {
  ConsulMode,
  StartConsulClusterOptions,
  StartConsulOptions,
  StartedConsul,
  StartedConsulCluster,
} from './start-consul-options';

const MODES: readonly ConsulMode[] = ['binary', 'container'];

const KEYS: KnownKeys<StartConsulOptions> = {
  mode: true,
  binary: true,
  image: true,
  network: true,
  startupTimeoutMs: true,
  signal: true,
  datacenter: true,
  nodeName: true,
  acl: true,
  tls: true,
  retryJoinWan: true,
  httpPort: true,
  hcl: true,
};

/** What only a local binary can do; asking for it in container mode is a ConfigError. */
const BINARY_ONLY = ['nodeName', 'acl', 'tls', 'retryJoinWan', 'httpPort', 'hcl'] as const;

/** Consul's datacenter and node names: letters, digits, `-` and `_` (a node name may hold `.`). */
const DATACENTER = { pattern: /^[A-Za-z0-9_-]{1,64}$/, rule: "letters, digits, '-' and '_'" };
const NODE_NAME = { pattern: /^[A-Za-z0-9._-]{1,128}$/, rule: "letters, digits, '.', '-' and '_'" };
const TOKEN = { pattern: /^[\x21-\x7e]{1,256}$/, rule: 'printable characters without spaces' };
const HOST_PORT = { pattern: /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$/, rule: '127.x.y.z:port' };

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

function readAcl(reader: OptionReader<StartConsulOptions | StartConsulClusterOptions>) {
  if (!reader.has('acl')) return undefined;
  return reader.section('acl', { managementToken: true }).string('managementToken', TOKEN);
}

function readTls(reader: OptionReader<StartConsulOptions>): boolean | AgentTlsFiles | undefined {
  const tls = reader.raw('tls');
  if (tls === undefined || typeof tls === 'boolean') return tls;
  const files = OptionReader.strict<AgentTlsFiles>(tls, reader.pathOf('tls'), {
    caFile: true,
    certFile: true,
    keyFile: true,
  });
  const file = (key: keyof AgentTlsFiles): string =>
    files.string(key, { rule: 'a PEM file path' }) ?? files.fail(key, 'a PEM file path');
  return { caFile: file('caFile'), certFile: file('certFile'), keyFile: file('keyFile') };
}

function binaryOrFail(reader: OptionReader<StartConsulOptions>, mode: ConsulMode | undefined) {
  const binary = mode === 'container' ? undefined : (reader.string('binary') ?? findConsulBinary());
  if (mode === 'binary' && binary === undefined) {
    throw new ConfigError(
      'mode',
      "'container', or 'binary' with CONSUL_BIN, the binary option or consul on PATH",
      mode,
    );
  }
  return binary;
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
  const datacenter = reader.string('datacenter', DATACENTER, 'dc1');
  const nodeName = reader.string('nodeName', NODE_NAME) ?? uniqueNodeName();
  const acl = readAcl(reader);
  const tls = readTls(reader);
  const retryJoinWan = reader.stringList('retryJoinWan', HOST_PORT);
  const httpPort = reader.integer('httpPort', { min: 1, max: 65_535 });
  const hcl = reader.stringList('hcl');
  const mode = chooseMode(reader);
  const binary = binaryOrFail(reader, mode);
  if (binary === undefined) {
    for (const key of BINARY_ONLY)
      if (reader.has(key))
        reader.fail(key, "an option of mode 'binary' only (unset it for containers)");
    return startConsulContainer(
      options.image ?? DEFAULT_CONSUL_IMAGE,
      network,
      datacenter,
      timeoutMs,
      options.signal,
    );
  }
  const ownedDirs: string[] = [];
  let tlsFiles: AgentTlsFiles | undefined;
  if (tls === true) {
    const dir = ownedDir('tls');
    ownedDirs.push(dir);
    tlsFiles = await createTlsFiles(binary, dir, datacenter);
  } else if (tls) {
    tlsFiles = tls;
  }
  return ConsulProcess.start({
    binary,
    command: {
      nodeName,
      datacenter,
      ports: await freeAgentPorts(httpPort),
      tls: tlsFiles,
      aclManagementToken: acl,
      retryJoinWan,
      hcl,
    },
    startupTimeoutMs: timeoutMs,
    signal: options.signal,
    ownedDirs,
  });
}

const CLUSTER_KEYS: KnownKeys<StartConsulClusterOptions> = {
  servers: true,
  binary: true,
  datacenter: true,
  acl: true,
  startupTimeoutMs: true,
  hcl: true,
};

/**
 * Starts `servers` Consul servers of one datacenter on 127.0.0.1 (a local binary only) that find
 * each other, and resolves once they have elected a leader: for tests of leader loss and quorum.
 */
export async function startConsulCluster(
  options: StartConsulClusterOptions = {},
): Promise<StartedConsulCluster> {
  const reader = OptionReader.strict(options, '', CLUSTER_KEYS);
  const size = reader.integer('servers', { min: 1, max: 7 }, 3);
  const timeoutMs = reader.ms('startupTimeoutMs', { min: 0, minExclusive: true }, 60_000);
  const datacenter = reader.string('datacenter', DATACENTER, 'dc1');
  const acl = readAcl(reader);
  const hcl = reader.stringList('hcl');
  const binary = reader.string('binary') ?? findConsulBinary();
  if (binary === undefined)
    throw new ConfigError(
      'binary',
      'a consul binary (CONSUL_BIN, the binary option or consul on PATH)',
      undefined,
    );
  const dataRoot = ownedDir('cluster');
  const ports = await Promise.all(Array.from({ length: size }, () => freeAgentPorts()));
  const started = await Promise.allSettled(
    ports.map((own, i) =>
      ConsulProcess.start({
        binary,
        command: {
          nodeName: `${uniqueNodeName()}-server-${i + 1}`,
          datacenter,
          ports: own,
          aclManagementToken: acl,
          hcl,
          server: {
            bootstrapExpect: size,
            dataDir: join(dataRoot, `server-${i + 1}`),
            retryJoin: ports.filter((other) => other !== own).map((o) => `127.0.0.1:${o.serfLan}`),
          },
        },
        startupTimeoutMs: timeoutMs,
      }),
    ),
  );
  const servers = started.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= Promise.all(servers.map((server) => server.stop())).then(() => {
      rmSync(dataRoot, { recursive: true, force: true });
    }));
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  return { servers, stop, [Symbol.asyncDispose]: stop };
}
