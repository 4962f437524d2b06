// Properties over hostile registrations (fast-check): the parser never throws, everything it keeps
// is dialable exactly as written and has a unique identity; end to end through a real dev agent,
// no invalid registration ever reaches a pool and nothing but the library's typed errors escapes.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import fc from 'fast-check';
import { createDiscovery, isExpressConsulError } from '../../src';
import type { HealthServiceEntry } from '../../src/consul/consul-types';
import { readInstanceAddress } from '../../src/watch/instance-address';
import { instanceAuthority } from '../../src/watch/service-instance';
import { parseServiceInstances } from '../../src/watch/to-service-instance';
import { uniqueService } from '../support/test-instance';
import { waitFor } from '../../harness/wait-for';

const HOSTILE_TEXT = [
  '',
  ' ',
  'evil.example:9999',
  '127.0.0.1/x?',
  '127.0.0.1:80',
  'a@b',
  '[::1]',
  'fe80::1%eth0',
  '::1',
  '0x7f',
  '1.2.3',
  'a\r\nb',
  'ünï.example',
  '__proto__',
  'constructor',
  'vm/a',
  'a/b',
  '%2F',
  'x'.repeat(300),
  'localhost',
  'Node-1.Example',
  '10.0.0.1',
];

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(...HOSTILE_TEXT),
);
const number = fc.oneof(
  fc.integer({ min: -70_000, max: 140_000 }),
  fc.constantFrom(0, 1, 65_535, 65_536, 70_000, -5, 1.5, Number.NaN, Infinity, 2 ** 60),
  fc.double(),
);
const anyValue = fc.oneof(text, number, fc.constant(null), fc.boolean(), fc.anything());
const status = fc.oneof(fc.constantFrom('passing', 'warning', 'critical', 'maintenance'), anyValue);

/** A health entry in Consul's shape, each field either plausible or garbage. */
const entry: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record({
      Node: fc.record({
        Node: fc.oneof(text, fc.constantFrom('n1', 'n2')),
        Address: fc.oneof(text, anyValue),
      }),
      Service: fc.record(
        {
          ID: fc.oneof(text, fc.constantFrom('s1', 's2'), anyValue),
          Service: fc.oneof(fc.constant('svc'), anyValue),
          Address: fc.oneof(text, anyValue),
          Port: fc.oneof(number, anyValue),
          Tags: fc.oneof(fc.array(text, { maxLength: 3 }), fc.constant(null), anyValue),
          Meta: fc.oneof(fc.dictionary(text, text, { maxKeys: 3 }), fc.constant(null), anyValue),
          Weights: fc.oneof(
            fc.record({ Passing: fc.oneof(number, anyValue), Warning: fc.oneof(number, anyValue) }),
            anyValue,
          ),
        },
        { requiredKeys: [] },
      ),
      Checks: fc.oneof(fc.array(fc.record({ Status: status }), { maxLength: 3 }), anyValue),
    }),
  },
  { weight: 1, arbitrary: anyValue },
);

describe('properties of hostile registrations', () => {
  it('parsing never throws; every instance is dialable exactly as written; identities are unique', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        const { instances, rejected } = parseServiceInstances(entries as HealthServiceEntry[]);
        expect(instances.length + rejected.length).toBeLessThanOrEqual(entries.length);
        for (const instance of instances) {
          const authority = instanceAuthority(instance);
          const url = new URL(`http://${authority}`);
          expect(url.host).toBe(authority);
          const host = instance.address.includes(':') ? `[${instance.address}]` : instance.address;
          expect(url.hostname).toBe(host);
          expect(url.port).toBe(String(instance.port));
          expect(url.username + url.password + url.search + url.hash).toBe('');
          expect(url.pathname).toBe('/');
          expect(Number.isInteger(instance.weight)).toBe(true);
          expect(instance.weight).toBeGreaterThanOrEqual(0);
          expect(instance.weight).toBeLessThanOrEqual(65_535);
          expect(instance.id).toMatch(/^[\x21-\x7e]+$/);
          expect(() => new Headers({ 'x-served-by': instance.id })).not.toThrow();
        }
        expect(new Set(instances.map((i) => i.id)).size).toBe(instances.length);
      }),
      { numRuns: 500 },
    );
  });

  describe('end to end through a real dev agent', () => {
    let server: Server;
    let port: number;
    let hits = 0;

    beforeAll(async () => {
      server = createServer((_req, res) => {
        hits += 1;
        res.end('ok');
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    // Addresses that would pass the parser are only ever loopback ones, so nothing generated
    // here can send a call (or a DNS query) off this machine; every other one is hostile.
    const address = fc.oneof(
      fc.constantFrom('127.0.0.1', '', 'localhost'),
      text.filter((a) => readInstanceAddress(a) === undefined),
    );
    const registration = fc.record({
      ID: fc.oneof(text, fc.constant('plain')),
      Address: address,
      Port: fc.oneof(fc.constant('ours'), number),
      Tags: fc.oneof(fc.array(text, { maxLength: 2 }), anyValue),
      Meta: fc.oneof(
        fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), text, { maxKeys: 2 }),
        anyValue,
      ),
      Weights: fc.oneof(fc.constant(undefined), fc.record({ Passing: number, Warning: number })),
      Status: fc.constantFrom('passing', 'warning', 'critical', undefined),
    });

    it('no invalid registration reaches a pool; only typed errors escape', async () => {
      const dialed: string[] = [];
      const validOrigins = new Set<string>();
      // The channel is process-wide and jest runs every suite in this one process, so a dial can
      // come from another suite's client still winding down (CI saw one to an ephemeral port no
      // registration here named). A registration reaching a pool dials the port it was sent with,
      // one written into its address, or a scheme's default: only those dials are this test's.
      const sentPorts = new Set<string>(['', '80', '443']);
      const notePorts = (value: unknown): void => {
        if (typeof value === 'number' && Number.isFinite(value)) sentPorts.add(String(value));
        if (typeof value === 'string') {
          for (const match of value.matchAll(/\d+/g)) sentPorts.add(String(Number(match[0])));
        }
      };
      const onConnect = (message: unknown): void => {
        const { connectParams } = message as { connectParams: { hostname: string; port: string } };
        dialed.push(`${connectParams.hostname}:${connectParams.port}`);
      };
      subscribe('undici:client:beforeConnect', onConnect);
      const consul = process.env.CONSUL_HTTP_ADDR!;
      const consulHost = new URL(consul).host;
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(registration, { minLength: 4, maxLength: 12 }),
            async (batch) => {
              const name = uniqueService('prop-hostile');
              const accepted: string[] = [];
              /** Origins of this batch's valid registrations: the only ones a pool may hold. */
              const batchOrigins = new Set<string>();
              // A loopback address with a real port is a valid registration even when nothing
              // listens there: dialing it is right. Anything else dialed came from an invalid one.
              // One good registration in every batch, so calls have somewhere to go.
              const good = { ID: 'good', Address: '127.0.0.1', Port: 'ours', Tags: [], Meta: {} };
              for (const [i, r] of [good, ...batch].entries()) {
                const id = `${r.ID}-${i}`;
                notePorts(r.Port === 'ours' ? port : r.Port);
                notePorts(r.Address);
                const body = {
                  ID: id,
                  Name: name,
                  Address: r.Address,
                  Port: r.Port === 'ours' ? port : r.Port,
                  Tags: r.Tags,
                  Meta: r.Meta,
                  ...('Weights' in r && r.Weights && { Weights: r.Weights }),
                  // TTL checks only: Consul must never dial a hostile address itself.
                  ...('Status' in r && r.Status && { Check: { TTL: '60s', Status: r.Status } }),
                };
                let json: string;
                try {
                  json = JSON.stringify(body);
                } catch {
                  continue; // a BigInt or the like: not something Consul could be sent
                }
                const response = await fetch(`${consul}/v1/agent/service/register`, {
                  method: 'PUT',
                  body: json,
                });
                await response.arrayBuffer();
                if (response.ok) {
                  accepted.push(id);
                  const dialable = readInstanceAddress(
                    body.Address === '' ? '127.0.0.1' : body.Address,
                  );
                  const validPort =
                    typeof body.Port === 'number' &&
                    Number.isInteger(body.Port) &&
                    body.Port >= 1 &&
                    body.Port <= 65_535;
                  if (dialable !== undefined && validPort) {
                    validOrigins.add(`${dialable}:${body.Port}`);
                    batchOrigins.add(`${dialable}:${body.Port}`);
                  }
                }
              }
              const discovery = createDiscovery({ metrics: false, client: { timeoutMs: 2_000 } });
              try {
                const client = discovery.service(name);
                // Every registration Consul took is in the catalog before the calls start.
                await waitFor('the catalog to list the batch', async () => {
                  const r = await fetch(`${consul}/v1/health/service/${name}`);
                  const listed = (await r.json()) as unknown[];
                  return listed.length === accepted.length ? true : undefined;
                });
                const passing = await fetch(`${consul}/v1/health/service/${name}?passing`);
                const expected = (await passing.json()) as HealthServiceEntry[];
                await client.ready(AbortSignal.timeout(10_000));
                const { instances } = parseServiceInstances(expected);
                expect(instances.length).toBeGreaterThan(0);
                await waitFor('the routing table', () =>
                  client.instances().length === instances.length ? true : undefined,
                );
                // A valid registration need not be ours (127.0.0.1:65535 with no check is a real
                // instance nothing listens on): every one held must be valid, whatever its port.
                for (const instance of client.instances()) {
                  expect([...batchOrigins]).toContain(`${instance.address}:${instance.port}`);
                }
                for (let call = 0; call < 6; call++) {
                  try {
                    const response = await discovery.fetch(`http://${name}/x`);
                    await response.text();
                    expect(response.status).toBe(200);
                  } catch (error) {
                    expect(isExpressConsulError(error)).toBe(true);
                  }
                }
              } finally {
                await discovery.close();
                for (const id of accepted) {
                  const r = await fetch(
                    `${consul}/v1/agent/service/deregister/${encodeURIComponent(id)}`,
                    { method: 'PUT' },
                  );
                  await r.arrayBuffer();
                }
              }
            },
          ),
          { numRuns: 4, endOnFailure: true },
        );
      } finally {
        unsubscribe('undici:client:beforeConnect', onConnect);
      }
      const portOf = (origin: string): string => origin.slice(origin.lastIndexOf(':') + 1);
      const upstream = dialed.filter(
        (origin) => origin !== consulHost && sentPorts.has(portOf(origin)),
      );
      expect(upstream.length).toBeGreaterThan(0);
      expect(upstream).toContain(`127.0.0.1:${port}`);
      for (const origin of upstream) {
        if (origin === `127.0.0.1:${port}` || origin === `localhost:${port}`) continue;
        expect([...validOrigins]).toContain(origin);
      }
      expect(hits).toBeGreaterThan(0);
    }, 60_000);
  });
});
