// Scenario 11 (its ACL token part): the library reads Consul with a canary token, through a fault
// server that records every request and answers garbage, 403 and 500 in turn, under load. The
// canary must be sent (X-Consul-Token on every request) and must never appear in a log line, an
// error (message, stack, cause chain, fields), the metrics text, or a URL.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../src';
import type { FaultMode } from './support/consul-fault-server';
import { ConsulFaultServer } from './support/consul-fault-server';
import { errorText } from './support/error-text';
import { libraryCaller } from './support/callers';
import { runLoad } from './support/load';
import { startScenario } from './support/scenario';
import type { Scenario } from './support/scenario';
import { waitFor } from '../../harness/wait-for';

const SERVICE = 'chaos-canary';
const MODES: FaultMode[] = ['bad-json', 'acl-403', 'status-500', 'wrong-types'];

describe('chaos: canary token', () => {
  let scenario: Scenario | undefined;
  let fault: ConsulFaultServer | undefined;

  afterAll(async () => {
    await scenario?.stop();
    await fault?.stop();
  });

  it('sends the token on every request and never shows it in logs, errors, metrics or URLs', async () => {
    const canary = `canary-${randomUUID()}`;
    const logs: string[] = [];
    const capture =
      (level: string) =>
      (obj: object, msg?: string): void => {
        logs.push(
          `${level} ${msg ?? ''} ${JSON.stringify(obj, (_key, value: unknown) => (value instanceof Error ? errorText(value) : value))}`,
        );
      };
    const logger: Logger = {
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    };
    fault = await ConsulFaultServer.start(process.env.CONSUL_HTTP_ADDR!, SERVICE);
    scenario = await startScenario(
      { service: SERVICE, size: 3 },
      {
        consul: { token: canary },
        logger,
        watch: { waitMs: 1_000, backoff: { baseMs: 100, maxMs: 500 } },
      },
      undefined,
      false,
      fault.address,
    );
    const { client, registry } = scenario;
    const errors: string[] = [];
    const codes = new Set<string>();
    const unsubscribe = client.watcher.onError((event) => {
      errors.push(errorText(event.error));
      codes.add(`${fault!.mode}:${(event.error as { code?: string }).code ?? event.error.name}`);
    });
    const seenIn = (mode: FaultMode) => [...codes].filter((c) => c.startsWith(`${mode}:`)).length;
    let errorsBefore = 0;

    const counts = await runLoad({
      callers: { library: libraryCaller(client) },
      ratePerSecond: 50,
      maxMs: 90_000,
      action: async () => {
        for (const mode of MODES) {
          errorsBefore = errors.length;
          fault!.mode = mode;
          await waitFor(
            `errors in mode ${mode}`,
            () => (seenIn(mode) > 0 && errors.length >= errorsBefore + 2 ? true : undefined),
            { timeoutMs: 15_000 },
          );
        }
        fault!.mode = 'pass';
        await waitFor('a clean watch', () => (client.watcher.status().stale ? undefined : true));
      },
    });
    unsubscribe();
    await scenario.record('11 canary token under Consul faults', counts.library, null);
    const metricsText = await registry.metrics();
    process.stdout.write(
      `[chaos] ${fault.requests.length} requests to Consul, ${logs.length} log lines, ${errors.length} errors (${[...codes].join(', ')})\n`,
    );

    expect(counts.library.errors).toEqual({});
    // The token was in use: every request of the library carried it, in the header.
    const libraryRequests = fault.requests.filter((r) => r.token === canary);
    expect(libraryRequests.length).toBeGreaterThan(10);
    expect(fault.requests.filter((r) => r.token !== undefined && r.token !== canary)).toEqual([]);
    expect(logs.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThanOrEqual(MODES.length * 2);
    for (const mode of MODES) expect(seenIn(mode)).toBeGreaterThan(0);
    expect(fault.requests.filter((r) => r.url.includes(canary))).toEqual([]);
    expect(logs.filter((line) => line.includes(canary))).toEqual([]);
    expect(errors.filter((text) => text.includes(canary))).toEqual([]);
    expect(metricsText.includes(canary)).toBe(false);
  }, 180_000);
});
