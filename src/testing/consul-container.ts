import { ConfigError } from '../errors';
import { agentArgs, freeAgentPorts, uniqueNodeName } from './agent-command';
import { ExpressConsulError } from '../errors';
import type { StartedConsul } from './start-consul-options';
import { waitForLeader } from './wait-for-leader';

/** The official image this library is tested against. */
export const DEFAULT_CONSUL_IMAGE = 'hashicorp/consul:1.16.3';

type Testcontainers = typeof import('testcontainers');

/** Loads the optional peer dependency only now, so nothing else in the package ever requires it. */
async function loadTestcontainers(): Promise<Testcontainers> {
  try {
    return await import('testcontainers');
  } catch (error) {
    throw new ConfigError(
      'mode',
      "'binary', or 'container' with the optional peer dependency testcontainers installed (npm install --save-dev testcontainers)",
      'container',
      { cause: error },
    );
  }
}

/**
 * Ryuk (testcontainers' reaper container) removes containers of a crashed test run, but its image
 * has to come from a registry. When it cannot be started, run without it: stop() still removes what
 * we start. A value the user set for TESTCONTAINERS_RYUK_DISABLED is left alone.
 */
async function disableRyukWhenUnavailable(testcontainers: Testcontainers): Promise<void> {
  if (process.env.TESTCONTAINERS_RYUK_DISABLED !== undefined) return;
  try {
    await testcontainers.getReaper(await testcontainers.getContainerRuntimeClient());
  } catch {
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  }
}

/**
 * Runs the Consul image as a dev agent and resolves once it has a leader. `host` network: the agent
 * binds 127.0.0.1 with free ports in the host's namespace. `bridge`: port 8500 is published on
 * 127.0.0.1 only (testcontainers would publish on every interface, hence the binding below).
 */
export async function startConsulContainer(
  image: string,
  network: 'bridge' | 'host',
  datacenter: string,
  startupTimeoutMs: number,
  signal?: AbortSignal,
): Promise<StartedConsul> {
  const testcontainers = await loadTestcontainers();
  await disableRyukWhenUnavailable(testcontainers);

  class LoopbackContainer extends testcontainers.GenericContainer {
    override async start(): Promise<import('testcontainers').StartedTestContainer> {
      const portBindings = (this.hostConfig.PortBindings ?? {}) as Record<
        string,
        { HostIp?: string }[]
      >;
      for (const bindings of Object.values(portBindings))
        for (const binding of bindings) binding.HostIp = '127.0.0.1';
      return super.start();
    }
  }

  const container = new LoopbackContainer(image)
    .withLabels({ 'express-consul.testing': 'consul' })
    .withWaitStrategy(testcontainers.Wait.forLogMessage(/Consul agent running!/))
    .withStartupTimeout(startupTimeoutMs);
  let port: number | undefined;
  const nodeName = uniqueNodeName();
  if (network === 'host') {
    const ports = await freeAgentPorts();
    port = ports.http;
    container.withNetworkMode('host').withCommand(agentArgs({ nodeName, datacenter, ports }));
  } else {
    container
      .withExposedPorts(8500)
      .withCommand([
        'agent',
        '-dev',
        '-ui',
        '-client',
        '0.0.0.0',
        '-datacenter',
        datacenter,
        '-node',
        nodeName,
      ]);
  }
  const started = await container.start();
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= started.stop({ remove: true, removeVolumes: true }).then(() => undefined));
  const address = `http://127.0.0.1:${port ?? started.getMappedPort(8500)}`;
  try {
    await waitForLeader(address, startupTimeoutMs, signal);
  } catch (error) {
    await stop();
    throw error;
  }
  const binaryOnly = (what: string) => () =>
    Promise.reject(
      new ExpressConsulError('EXPRESS_CONSUL_INVALID_STATE', `${what} needs mode 'binary'`),
    );
  return {
    address,
    mode: 'container',
    nodeName,
    datacenter,
    https: undefined,
    dnsPort: undefined,
    serfWanAddress: undefined,
    pid: undefined,
    // `docker logs` has them; a log stream held open here would keep a test run from exiting.
    logs: () => '',
    restart: binaryOnly('restart()'),
    kill: binaryOnly('kill()'),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
