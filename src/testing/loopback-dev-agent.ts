import { randomBytes } from 'node:crypto';
import { loopbackPorts } from './loopback-ports';

/** The ports a dev agent listens on; gRPC is switched off (the library only speaks HTTP). */
export interface DevAgentPorts {
  readonly http: number;
  readonly dns: number;
  readonly serfLan: number;
  readonly serfWan: number;
  readonly server: number;
}

/**
 * Arguments after `consul` for a dev agent that binds, advertises and serves only on 127.0.0.1 with
 * the given ports, so several can share one host (or one host network namespace) without clashing.
 */
function devAgentArgs(ports: DevAgentPorts, nodeName: string): string[] {
  return [
    'agent',
    '-dev',
    '-ui',
    '-node',
    nodeName,
    '-bind',
    '127.0.0.1',
    '-advertise',
    '127.0.0.1',
    '-client',
    '127.0.0.1',
    '-http-port',
    String(ports.http),
    '-dns-port',
    String(ports.dns),
    '-serf-lan-port',
    String(ports.serfLan),
    '-serf-wan-port',
    String(ports.serfWan),
    '-server-port',
    String(ports.server),
    '-hcl',
    'ports { grpc = -1, grpc_tls = -1 }',
  ];
}

/** A dev agent's command line on free loopback ports, with a unique node name, and its HTTP port. */
export async function loopbackDevAgent(): Promise<{
  readonly httpPort: number;
  readonly args: string[];
}> {
  const [http, dns, serfLan, serfWan, server] = (await loopbackPorts(5)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const nodeName = `express-consul-test-${randomBytes(3).toString('hex')}`;
  return { httpPort: http, args: devAgentArgs({ http, dns, serfLan, serfWan, server }, nodeName) };
}
