// Every reason a call can fail for, produced by a real server on 127.0.0.1 (a refused port, a
// reset, silence, a 503, an odd status, TLS spoken to plain HTTP), and the error the caller gets:
// its class and its `reason`, the words the retries metric uses too.
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import type { FailReason } from '../../src/client/request-outcome';
import type { ServiceRequest } from '../../src/client/service-client';
import type { DiscoveryOptions } from '../../src/client/discovery-options';
import {
  AbortedError,
  NoHealthyInstancesError,
  RequestTimeoutError,
  RetriesExhaustedError,
  UpstreamError,
} from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { ExpressConsulMetrics } from '../../src/metrics/express-consul-metrics';
import { freePort } from '../../harness/free-port';
import { parsePrometheusText } from '../support/prometheus-text';
import { waitFor } from '../../harness/wait-for';
import { resolveDiscoveryOptions } from '../../src/client/discovery-options';
import { Discovery } from '../../src/client/discovery';
import type { ConsulClient } from '../../src/consul/consul-client';
import { ScriptedHealthSource, type Step } from '../watch/fake-health-source';
import { entry, fixedDiscovery, stopAll, upstream, type Upstream } from './fixed-discovery';

afterEach(stopAll);

/** No retry waits: each test is about which rule stopped the call, not about the backoff. */
const NO_BACKOFF = { retryBackoff: { baseMs: 0, maxMs: 0 }, outlierDetection: false } as const;

const silent = (): void => {};
const resets = (request: { socket: { destroy(): void } }): void => request.socket.destroy();
const unavailable = (_q: unknown, response: ServerResponse): void => {
  response.writeHead(503);
  response.end('busy');
};

/** A port nothing listens on (connections to it are refused). */
async function refusedPort(): Promise<number> {
  return freePort();
}

/** The error of one call to service `s` on one instance at `port`. */
async function failureOf(
  port: number,
  request: ServiceRequest,
  client: NonNullable<DiscoveryOptions['client']> = {},
  options: Omit<DiscoveryOptions, 'client'> = {},
): Promise<unknown> {
  const d = fixedDiscovery(
    { s: [entry('s', 's1', port)] },
    { ...options, client: { ...NO_BACKOFF, ...client } },
  );
  return d
    .service('s')
    .request(request)
    .then(
      async (response) => {
        await response.body.dump();
        return new Error(`answered ${response.statusCode}`);
      },
      (error: unknown) => error,
    );
}

describe('the reason a call fails for, from the attempt to the error', () => {
  it('no_instances: discovery knows no healthy instance (raised at once)', async () => {
    const d = fixedDiscovery({ s: [] });
    const error = await d
      .service('s')
      .request()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoHealthyInstancesError);
    expect(error).toMatchObject({ reason: 'no_instances' });
  });

  it('discovery_timeout: Consul gives discovery no answer within readyTimeoutMs', async () => {
    // No list for this service: its first blocking query never answers.
    const d = fixedDiscovery({}, { client: { readyTimeoutMs: 50 } });
    const error = await d
      .service('ghost')
      .request()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoHealthyInstancesError);
    expect(error).toMatchObject({ reason: 'discovery_timeout' });
  });

  it('max_attempts: every attempt hit a refused port; nothing reached a server', async () => {
    const error = await failureOf(await refusedPort(), {}, { maxAttempts: 2 });
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({
      reason: 'max_attempts',
      attempts: 2,
      mayHaveBeenProcessed: false,
    });
  });

  it('max_attempts: every attempt answered 503', async () => {
    const up = await upstream(unavailable);
    const error = await failureOf(up.port, {}, { maxAttempts: 3 });
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ reason: 'max_attempts', attempts: 3, lastStatus: 503 });
    expect(up.received).toBe(3);
  });

  it('retry_after_beyond_deadline: a 503 asks for a wait past the deadline', async () => {
    const up = await upstream((_q, response) => {
      response.writeHead(503, { 'retry-after': '5' });
      response.end();
    });
    const error = await failureOf(up.port, { deadlineMs: 1_000 }, { maxRetryAfterMs: 10_000 });
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ reason: 'retry_after_beyond_deadline', lastStatus: 503 });
    expect(up.received).toBe(1);
  });

  it('budget_exhausted: the retry budget has no retry to give', async () => {
    const up = await upstream(unavailable);
    const error = await failureOf(
      up.port,
      {},
      {},
      { retryBudget: { ratio: 0, minRetriesPerSecond: 0 } },
    );
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).toMatchObject({ reason: 'budget_exhausted', attempts: 1, lastStatus: 503 });
    expect(up.received).toBe(1);
  });

  it('deadline: a silent instance outlasts the call deadline', async () => {
    const up = await upstream(silent);
    const error = await failureOf(up.port, { timeoutMs: 5_000, deadlineMs: 150 });
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ reason: 'deadline', timeoutMs: 150 });
  });

  it('not_idempotent: a POST whose connection was reset is never sent again', async () => {
    const up = await upstream(resets);
    const error = await failureOf(up.port, { method: 'POST', body: 'x' });
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'not_idempotent', mayHaveBeenProcessed: true });
    expect(up.received).toBe(1);
  });

  it('not_idempotent: a POST past its per-try timeout is a timeout with that reason', async () => {
    const up = await upstream(silent);
    const error = await failureOf(up.port, { method: 'POST', body: 'x' }, { timeoutMs: 100 });
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ reason: 'not_idempotent', timeoutMs: 100 });
    expect(up.received).toBe(1);
  });

  it('disabled_by_caller: retryable: false stops a GET after a reset', async () => {
    const up = await upstream(resets);
    const error = await failureOf(up.port, { retryable: false });
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'disabled_by_caller' });
    expect(up.received).toBe(1);
  });

  it('body_not_replayable: a streamed PUT body is sent once', async () => {
    const up = await upstream(resets);
    const error = await failureOf(up.port, {
      method: 'PUT',
      body: Readable.from([Buffer.from('chunk')]),
    });
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'body_not_replayable' });
    expect(up.received).toBe(1);
  });

  it('not_retryable: TLS spoken to a plain HTTP instance is not the kind of failure retried', async () => {
    const up = await upstream();
    const error = await failureOf(up.port, {}, { scheme: 'https', maxAttempts: 3 });
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'not_retryable' });
  });

  it('invalid_status: a status outside 200-599', async () => {
    const up = await upstream((_q, response) => {
      response.writeHead(600);
      response.end('odd');
    });
    const error = await failureOf(up.port, {});
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ reason: 'invalid_status', mayHaveBeenProcessed: true });
  });

  it('aborted: the caller aborts while the instance is silent', async () => {
    const up: Upstream = await upstream(silent);
    const controller = new AbortController();
    const pending = failureOf(up.port, { signal: controller.signal }, { timeoutMs: 30_000 });
    await waitFor('the request to reach the instance', () =>
      up.received === 1 ? true : undefined,
    );
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(AbortedError);
    expect(error).toMatchObject({ reason: 'aborted', mayHaveBeenProcessed: true });
  });

  it('no_instance_left: a retry finds no instance to go to (the list emptied during the call)', async () => {
    let emptied: (step: Step) => void = () => {};
    let instancesNow: () => number = () => 1;
    const up = await upstream((request, response) => {
      // While the first attempt is at the instance, Consul says the service has none left.
      emptied({ answer: [], index: 11 });
      void waitFor('the emptied list to reach the client', () =>
        instancesNow() === 0 ? true : undefined,
      ).then(() => unavailable(request, response));
    });
    const source = new ScriptedHealthSource([
      { answer: [entry('s', 's1', up.port)], index: 10 },
      { later: new Promise<Step>((resolve) => (emptied = resolve)) },
    ]);
    const d = new Discovery(
      source as unknown as ConsulClient,
      resolveDiscoveryOptions({ client: NO_BACKOFF }),
      undefined,
      silentLogger,
    );
    try {
      const client = d.service('s');
      instancesNow = () => client.instances().length;
      const error = await client.request().then(
        () => new Error('answered'),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RetriesExhaustedError);
      expect(error).toMatchObject({ reason: 'no_instance_left', mayHaveBeenProcessed: true });
      expect(up.received).toBe(1);
    } finally {
      await d.destroy();
    }
  });

  it('covers every reason', () => {
    // Kept in step with FailReason: a new reason fails here until it has a test above.
    const tested: readonly FailReason[] = [
      'no_instances',
      'discovery_timeout',
      'max_attempts',
      'retry_after_beyond_deadline',
      'budget_exhausted',
      'deadline',
      'not_idempotent',
      'disabled_by_caller',
      'body_not_replayable',
      'not_retryable',
      'invalid_status',
      'aborted',
      'no_instance_left',
    ];
    const all: Record<FailReason, true> = {
      aborted: true,
      deadline: true,
      not_retryable: true,
      disabled_by_caller: true,
      body_not_replayable: true,
      not_idempotent: true,
      max_attempts: true,
      retry_after_beyond_deadline: true,
      budget_exhausted: true,
      no_instances: true,
      discovery_timeout: true,
      no_instance_left: true,
      invalid_status: true,
    };
    expect(new Set(tested)).toEqual(new Set(Object.keys(all)));
  });
});

describe('the retries metric names the retried failure in the same words', () => {
  async function retriesByReason(port: number, request: ServiceRequest, timeoutMs = 5_000) {
    const registry = new Registry();
    const metrics = new ExpressConsulMetrics(registry);
    const d = fixedDiscovery(
      { s: [entry('s', 's1', port)] },
      { client: { ...NO_BACKOFF, maxAttempts: 2, timeoutMs } },
      silentLogger,
      metrics,
    );
    const error = await d
      .service('s')
      .request(request)
      .catch((e: unknown) => e);
    const { samples } = parsePrometheusText(await registry.metrics());
    const reasons = samples
      .filter((sample) => sample.name === 'express_consul_client_retries_total')
      .map((sample) => [sample.labels['reason'], sample.value]);
    return { error, reasons };
  }

  it.each([
    ['connect_failure', 'a refused port', async () => refusedPort()],
    ['reset', 'a reset', async () => (await upstream(resets)).port],
    ['status_503', 'a 503', async () => (await upstream(unavailable)).port],
  ])('%s for %s', async (reason, _what, portOf) => {
    const { error, reasons } = await retriesByReason(await portOf(), {});
    expect(error).toMatchObject({ reason: 'max_attempts' });
    expect(reasons).toEqual([[reason, 1]]);
  });

  it('try_timeout for a silent instance', async () => {
    const up = await upstream(silent);
    const { error, reasons } = await retriesByReason(up.port, {}, 100);
    expect(error).toMatchObject({ reason: 'max_attempts', attempts: 2 });
    expect(reasons).toEqual([['try_timeout', 1]]);
  });
});

describe('the retry budget: checked and taken in one step', () => {
  it('gives its last retry to one of two calls that fail together, never to both', async () => {
    // Both calls' 503 bodies are held open until both attempts are decided: before, each call read
    // `available > 0`, then awaited its body, then withdrew without looking at the answer, so both
    // retried on a budget of one.
    const held: ServerResponse[] = [];
    const up = await upstream((_q, response) => {
      if (up.received > 2) {
        response.end('ok');
        return;
      }
      response.writeHead(503);
      response.write('busy');
      held.push(response);
    });
    const registry = new Registry();
    const d = fixedDiscovery(
      { s: [entry('s', 's1', up.port)] },
      {
        client: { ...NO_BACKOFF, maxAttempts: 2 },
        // A floor of exactly one retry per window and nothing earned by traffic.
        retryBudget: { ratio: 0, windowMs: 60_000, minRetriesPerSecond: 1 / 60 },
      },
      silentLogger,
      new ExpressConsulMetrics(registry),
    );
    const client = d.service('s');
    await client.ready();
    const calls = [client.request(), client.request()].map((call) =>
      call.then(
        async (response) => {
          await response.body.dump();
          return response.statusCode;
        },
        (error: unknown) => error,
      ),
    );
    await waitFor('both first attempts to be decided', async () => {
      const attempts = await registry
        .getSingleMetric('express_consul_client_attempts_total')
        ?.get();
      const failed = attempts?.values
        .filter((value) => value.labels['outcome'] === 'http_error')
        .reduce((sum, value) => sum + value.value, 0);
      return failed === 2 ? true : undefined;
    });
    for (const response of held.splice(0)) response.end();
    const outcomes = await Promise.all(calls);
    expect(outcomes).toContain(200);
    const refused = outcomes.find((outcome) => outcome !== 200);
    expect(refused).toBeInstanceOf(RetriesExhaustedError);
    expect(refused).toMatchObject({ reason: 'budget_exhausted', lastStatus: 503 });
    expect(up.received).toBe(3);
    expect(client.retryBudget.retries).toBe(1);
    expect(client.retryBudget.exhausted).toBe(1);
  });
});
