/**
 * Consul load: requests the helper sends to Consul, counted by a recording proxy in front of the
 * agent (harness/recording-proxy.ts), while 10 watched services are idle and while each of
 * them changes every second. Changes are sent to the agent directly, so only the watches' own
 * requests are counted.
 */
import { createDiscovery } from '../../src';
import { startRecordingProxy } from '../../harness/recording-proxy';
import { pause, round } from '../lib/stats';
import { checkAborted, deregisterAll, registerInstances, type Suite } from '../lib/suite';
import { num } from '../lib/table';

const SERVICES = 10;
/** Blocking-query wait of the watches here; Consul answers an unchanged query when it runs out. */
const WAIT_MS = 10_000;

interface Phase {
  readonly phase: string;
  readonly seconds: number;
  readonly requests: number;
  readonly requestsPerMinute: number;
  readonly perServicePerMinute: number;
}

export const consulLoadSuite: Suite = {
  id: 'consul-load',
  title: 'Consul load: requests per minute from the watches',
  async run({ quick, agent, consul, signal, log }) {
    const seconds = quick ? 3 : 20;
    const proxy = await startRecordingProxy(agent.address);
    const names = Array.from({ length: SERVICES }, (_, i) => `bench-load-${i}`);
    const discovery = createDiscovery({
      consul: { address: proxy.address },
      watch: { waitMs: WAIT_MS },
    });
    const ids: string[] = [];
    try {
      for (const name of names) {
        ids.push(
          ...(await registerInstances(consul, name, [
            { host: '127.0.0.1', port: 9 },
            { host: '127.0.0.2', port: 9 },
          ])),
        );
      }
      await Promise.all(names.map((name) => discovery.service(name).ready()));
      // The query after the first answer opens each watch's steady state; it is not idle load.
      await pause(1_000);
      const watchRequests = (): number =>
        proxy.requests.filter((r) => r.url.startsWith('/v1/health/service/')).length;
      const phases: Phase[] = [];
      const measure = async (
        phase: string,
        during: (until: number) => Promise<void>,
      ): Promise<void> => {
        checkAborted(signal);
        const before = watchRequests();
        const started = Date.now();
        await during(started + seconds * 1_000);
        const requests = watchRequests() - before;
        const perMinute = (requests * 60_000) / (Date.now() - started);
        phases.push({
          phase,
          seconds,
          requests,
          requestsPerMinute: round(perMinute),
          perServicePerMinute: round(perMinute / SERVICES, 2),
        });
        log(`${phase}: ${requests} requests in ${seconds} s`);
      };
      await measure('idle', async (until) => {
        while (Date.now() < until && !signal.aborted) await pause(100);
      });
      await measure('each service changes every second', async (until) => {
        let tick = 0;
        while (Date.now() < until && !signal.aborted) {
          const next = Date.now() + 1_000;
          // Alternately add and remove a third instance of every service.
          await Promise.all(
            names.map((name) =>
              tick % 2 === 0
                ? consul.registerService({
                    Name: name,
                    ID: `${name}-extra`,
                    Address: '127.0.0.3',
                    Port: 9,
                  })
                : consul.deregisterService(`${name}-extra`),
            ),
          );
          tick += 1;
          await pause(Math.max(0, next - Date.now()));
        }
      });
      return {
        figures: { services: SERVICES, waitMs: WAIT_MS, phases },
        tables: [
          {
            title: `${SERVICES} watched services, blocking-query wait ${WAIT_MS / 1000} s, ${seconds} s per phase`,
            header: ['phase', 'requests', 'per minute', 'per service per minute'],
            rows: phases.map((p) => [
              p.phase,
              String(p.requests),
              num(p.requestsPerMinute, 1),
              num(p.perServicePerMinute, 2),
            ]),
          },
        ],
        notes: [
          `Idle, each watch asks again when its blocking query runs out: about 60 / ${WAIT_MS / 1000} = ${60_000 / WAIT_MS} per service per minute here, 1 with the default waitMs of 60 s.`,
          'Changing every second, a watch makes one query per change (the rate limit only spaces bursts); the requests are blocking queries, answered when the change happens.',
        ],
      };
    } finally {
      await discovery.close();
      await deregisterAll(consul, [...ids, ...names.map((n) => `${n}-extra`)]);
      await proxy.close();
    }
  },
};
