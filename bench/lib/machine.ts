import { cpus, loadavg, platform, release } from 'node:os';

/** The machine a run measured on. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly consul: string;
  readonly haproxy: string;
  readonly platform: string;
}

/** The 1-, 5- and 15-minute load averages, rounded: on a shared machine they say how loaded it was. */
export function loadAverage(): readonly [number, number, number] {
  const [one, five, fifteen] = loadavg().map((n) => Math.round(n * 100) / 100);
  return [one!, five!, fifteen!];
}

export async function describeMachine(
  consulAddress: string,
  haproxy: string | undefined,
): Promise<Machine> {
  const response = await fetch(`${consulAddress}/v1/agent/self`);
  const self = (await response.json()) as { Config?: { Version?: string } };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    consul: self.Config?.Version ?? 'unknown',
    haproxy: haproxy ?? 'not installed',
    platform: `${platform()} ${release()}`,
  };
}
