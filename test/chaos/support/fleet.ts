// Instances of one service, each a child process behind its own Toxiproxy proxy and registered in
// Consul at the proxy's port, so a scenario can stop, kill, restart or poison any one of them.
import { startScript } from '../../support/child-service';
import type { ChildService } from '../../support/child-service';
import { freePorts } from '../../../harness/free-port';
import { portOf } from './toxiproxy';
import type { ToxiproxyServer } from './toxiproxy';

/** One instance: its process (replaced on restart), the port it listens on and its proxy. */
export interface FleetInstance {
  readonly name: string;
  /** The proxy's name in Toxiproxy. */
  readonly proxy: string;
  /** Port Consul advertises (the proxy's). */
  readonly advertisedPort: number;
  /** Port the process listens on (the proxy's upstream); kept across restarts. */
  readonly port: number;
  process: ChildService;
  /** Consul service id of the current process. */
  serviceId: string;
}

/** Settings of the instances' processes. */
export interface FleetOptions {
  readonly service: string;
  readonly size: number;
  /** Consul's check interval, in ms. Default 1000. */
  readonly checkIntervalMs?: number;
  /** Failed checks in a row before Consul marks an instance critical. Default: Consul's (1). */
  readonly failuresBeforeCritical?: number;
  /** The Consul agent the instances register with. Default: CONSUL_HTTP_ADDR. */
  readonly consulAddress?: string;
  /** The drain's wait between leaving Consul and closing, in ms. Default 300. */
  readonly propagationDelayMs?: number;
}

const SCRIPT = 'test/chaos/support/chaos-service.ts';

/** Instances of `options.service`, behind proxies of `toxiproxy`. */
export class Fleet {
  readonly instances: FleetInstance[] = [];

  private constructor(private readonly options: FleetOptions) {}

  /** Starts `size` instances (proxies first) and waits until each has registered. */
  static async start(toxiproxy: ToxiproxyServer, options: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(options);
    const ports = await freePorts(options.size);
    try {
      for (let i = 0; i < options.size; i++) {
        const name = `${options.service}-${i}`;
        const port = ports[i]!;
        const proxy = await toxiproxy.createProxy(name, `127.0.0.1:${port}`);
        const instance: FleetInstance = {
          name,
          proxy: name,
          advertisedPort: portOf(proxy),
          port,
          process: fleet.spawn(name, port, portOf(proxy)),
          serviceId: '',
        };
        fleet.instances.push(instance);
      }
      for (const instance of fleet.instances) {
        instance.serviceId = (await instance.process.next('listening')).id as string;
      }
    } catch (error) {
      await fleet.stop();
      throw error;
    }
    return fleet;
  }

  /** SIGTERM (the library drains: leaves Consul, finishes in-flight) and waits for the exit. */
  async drain(instance: FleetInstance): Promise<void> {
    instance.process.child.kill('SIGTERM');
    await instance.process.exited;
  }

  /** SIGKILL: no drain, no deregistration. */
  async kill(instance: FleetInstance): Promise<void> {
    instance.process.child.kill('SIGKILL');
    await instance.process.exited;
  }

  /** Starts a new process on the same port and waits until it has registered. */
  async restart(instance: FleetInstance): Promise<void> {
    instance.process = this.spawn(instance.name, instance.port, instance.advertisedPort);
    instance.serviceId = (await instance.process.next('listening')).id as string;
  }

  /** Stops every process still running (SIGKILL) and waits for the exits. */
  async stop(): Promise<void> {
    await Promise.all(
      this.instances.map(async (instance) => {
        const child = instance.process.child;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await instance.process.exited;
      }),
    );
  }

  private spawn(name: string, port: number, advertisedPort: number): ChildService {
    return startScript(SCRIPT, {
      SERVICE_NAME: this.options.service,
      INSTANCE_NAME: name,
      PORT: String(port),
      ADVERTISE_PORT: String(advertisedPort),
      CHECK_INTERVAL_MS: String(this.options.checkIntervalMs ?? 1_000),
      PROPAGATION_DELAY_MS: String(this.options.propagationDelayMs ?? 300),
      ...(this.options.consulAddress !== undefined && {
        CONSUL_HTTP_ADDR: this.options.consulAddress,
      }),
      ...(this.options.failuresBeforeCritical !== undefined && {
        FAILURES_BEFORE_CRITICAL: String(this.options.failuresBeforeCritical),
      }),
    });
  }
}
