import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsulAgent } from './consul-agent';
import { freePorts } from './free-port';

/** A cluster of Consul servers on loopback, for tests that need leader elections or quorum loss. */
export class ConsulCluster {
  private constructor(
    readonly servers: readonly ConsulAgent[],
    private readonly dataRoot: string,
  ) {}

  /** Starts `size` servers that find each other and resolves once they have elected a leader. */
  static async start(size = 3): Promise<ConsulCluster> {
    const dataRoot = mkdtempSync(join(tmpdir(), 'express-consul-cluster-'));
    const lanPorts = await freePorts(size);
    try {
      const started = await Promise.allSettled(
        lanPorts.map((serfLanPort, i) =>
          ConsulAgent.start({
            nodeName: `server-${i + 1}-${process.pid}`,
            server: {
              bootstrapExpect: size,
              serfLanPort,
              dataDir: join(dataRoot, `server-${i + 1}`),
              retryJoin: lanPorts
                .filter((port) => port !== serfLanPort)
                .map((port) => `127.0.0.1:${port}`),
            },
          }),
        ),
      );
      const servers = started.flatMap((result) =>
        result.status === 'fulfilled' ? [result.value] : [],
      );
      const failure = started.find((result) => result.status === 'rejected');
      if (failure) {
        await Promise.all(servers.map((server) => server.stop()));
        throw failure.reason;
      }
      return new ConsulCluster(servers, dataRoot);
    } catch (error) {
      rmSync(dataRoot, { recursive: true, force: true });
      throw error;
    }
  }

  /** Stops every server and removes their data. */
  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
    rmSync(this.dataRoot, { recursive: true, force: true });
  }
}
