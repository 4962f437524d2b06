// The two clients every scenario runs side by side: the library's, and a naive control that
// shows what the same fault does to a client without its protections.
import type { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import type { ServiceClient, ServiceRequest } from '../../../src';
import { isExpressConsulError } from '../../../src';
import type { CallResult, Caller } from './load';

/** A call through the library: ok when the answer is `expectStatus` and its body was read whole. */
export function libraryCaller(
  client: ServiceClient,
  call: ServiceRequest = { path: '/' },
  expectStatus = 200,
): Caller {
  return async () => {
    try {
      return await readWhole(await client.request(call), expectStatus);
    } catch (error) {
      return { ok: false, error: errorName(error) };
    }
  };
}

/** Reads the whole body (a cut body throws) and checks the status. */
async function readWhole(
  response: { statusCode: number; body: { text(): Promise<string> } },
  expectStatus: number,
): Promise<CallResult> {
  await response.body.text();
  return response.statusCode === expectStatus
    ? { ok: true }
    : { ok: false, error: `status ${response.statusCode}` };
}

/** A stable label for a failure: the library's error code, else the error's own code. */
export function errorName(error: unknown): string {
  if (isExpressConsulError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

/**
 * What a team without a client library writes: it asks Consul for the passing instances (the
 * answer reused for `lookupCacheMs`, as a DNS TTL or HAProxy's `hold valid 1s` would), picks one
 * at random, and sends once: no retry, no ejection, no reaction to a drain before its next lookup.
 */
export class NaiveClient {
  private readonly agent = new Agent({ connect: { timeout: 1_000 } });
  private cached: { at: number; targets: string[] } | undefined;
  private lookup: Promise<string[]> | undefined;

  constructor(
    private readonly consulAddress: string,
    private readonly service: string,
    private readonly options: { lookupCacheMs: number; timeoutMs: number },
  ) {}

  caller(call: { method?: 'GET' | 'POST'; path: string } = { path: '/' }, expectStatus = 200) {
    return async (): Promise<CallResult> => {
      try {
        const targets = await this.targets();
        if (targets.length === 0) return { ok: false, error: 'no instances' };
        const target = targets[Math.floor(Math.random() * targets.length)]!;
        // Whatever Consul (or a fault server) says, the suite's traffic stays on loopback.
        if (!target.startsWith('127.')) return { ok: false, error: 'not a loopback address' };
        const response = await request(`http://${target}${call.path}`, {
          method: call.method ?? 'GET',
          dispatcher: this.agent,
          headersTimeout: this.options.timeoutMs,
          bodyTimeout: this.options.timeoutMs,
        });
        return await readWhole(response, expectStatus);
      } catch (error) {
        return { ok: false, error: errorName(error) };
      }
    };
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }

  private async targets(): Promise<string[]> {
    const now = performance.now();
    if (this.cached && now - this.cached.at < this.options.lookupCacheMs)
      return this.cached.targets;
    this.lookup ??= (async () => {
      try {
        const response = await request(
          `${this.consulAddress}/v1/health/service/${this.service}?passing=true`,
          { dispatcher: this.agent, headersTimeout: this.options.timeoutMs },
        );
        const entries = (await response.body.json()) as {
          Service: { Address: string; Port: number };
          Node: { Address: string };
        }[];
        const targets = entries.map(
          (e) => `${e.Service.Address || e.Node.Address}:${e.Service.Port}`,
        );
        this.cached = { at: performance.now(), targets };
        return targets;
      } finally {
        this.lookup = undefined;
      }
    })();
    return this.lookup;
  }
}

/** The sum of a counter's samples for `service` in `registry` (0 when absent). */
export async function counterSum(
  registry: Registry,
  name: string,
  service: string,
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((sample) => sample.labels.service === service)
    .reduce((sum, sample) => sum + sample.value, 0);
}
