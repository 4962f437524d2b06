import { ConsulAgent, consulBinaryPath } from './consul-agent';
import { execFileSync } from 'node:child_process';

declare global {
  var __CONSUL_AGENT__: ConsulAgent | undefined;
}

/** Starts one dev agent for the run, unless CONSUL_HTTP_ADDR already names one. */
export default async function globalSetup(): Promise<void> {
  const binary = consulBinaryPath();
  process.env.EXPRESS_CONSUL_TEST_BINARY = binary;
  if (process.env.CONSUL_HTTP_ADDR) {
    process.stdout.write(
      `\nUsing the Consul agent at CONSUL_HTTP_ADDR=${process.env.CONSUL_HTTP_ADDR}\n`,
    );
    return;
  }
  const version = execFileSync(binary, ['version'], { encoding: 'utf8' }).split('\n')[0];
  const agent = await ConsulAgent.start();
  globalThis.__CONSUL_AGENT__ = agent;
  process.env.CONSUL_HTTP_ADDR = agent.address;
  process.stdout.write(`\n${version} dev agent at ${agent.address} (${binary})\n`);
}
