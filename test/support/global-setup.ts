import { execFileSync } from 'node:child_process';
import { startConsul } from '../../src/testing';
import type { StartedConsul } from '../../src/testing';
import { resolve } from 'node:path';

declare global {
  var __CONSUL__: StartedConsul | undefined;
}

/**
 * Starts one dev agent for the run, unless CONSUL_HTTP_ADDR already names one. It runs the way
 * EXPRESS_CONSUL_TEST_CONSUL says: `binary` (default) or `container` (the official image through
 * testcontainers, on the host network so Consul's HTTP checks reach services on 127.0.0.1).
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.CONSUL_HTTP_ADDR) {
    process.stdout.write(
      `\nUsing the Consul agent at CONSUL_HTTP_ADDR=${process.env.CONSUL_HTTP_ADDR}\n`,
    );
    return;
  }
  const mode = process.env.EXPRESS_CONSUL_TEST_CONSUL === 'container' ? 'container' : 'binary';
  const started = Date.now();
  if (mode === 'binary') {
    // The one way the suite obtains Consul: the project's script finds or builds it; CONSUL_BIN then
    // tells every worker's startConsul() (and findConsulBinary()) where it is.
    const binary = execFileSync('bash', [resolve(__dirname, '../../scripts/consul.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    process.env.CONSUL_BIN = binary;
    globalThis.__CONSUL__ = await startConsul({ mode, binary });
    const version = execFileSync(binary, ['version'], { encoding: 'utf8' }).split('\n')[0];
    process.stdout.write(
      `\n${version} dev agent at ${globalThis.__CONSUL__.address} (${binary})\n`,
    );
  } else {
    globalThis.__CONSUL__ = await startConsul({ mode, network: 'host' });
    const self = (await (await fetch(`${globalThis.__CONSUL__.address}/v1/agent/self`)).json()) as {
      Config: { Version: string };
    };
    process.stdout.write(
      `\nConsul ${self.Config.Version} in a container (testcontainers, ${process.env.TESTCONTAINERS_RYUK_DISABLED === 'true' ? 'Ryuk disabled' : 'with Ryuk'}) at ${globalThis.__CONSUL__.address}, ready in ${Date.now() - started} ms\n`,
    );
  }
  process.env.CONSUL_HTTP_ADDR = globalThis.__CONSUL__.address;
}
