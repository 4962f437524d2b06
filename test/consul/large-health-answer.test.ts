import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsulClient } from '../../src/consul/consul-client';
import { ConsulResponseError } from '../../src/errors';
import { healthEntry } from '../watch/fake-health-source';

// A large answer is checked in slices (issue #12 item 5); one entry of the wrong shape, even the
// very last of 5,000, still refuses the whole answer, as a small answer is refused. The server
// plays a broken Consul (no real Consul sends this), on loopback.
let server: Server;
let body = '[]';
let consul: ConsulClient;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-consul-index': '7' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  consul = new ConsulClient({
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
});

afterAll(async () => {
  await consul.close();
  await new Promise((resolve) => server.close(resolve));
});

const entries = (count: number): unknown[] =>
  Array.from({ length: count }, (_, i) => healthEntry(`web-${i}`));

it('accepts a 5,000-entry answer of Consul shape whole', async () => {
  body = JSON.stringify(entries(5000));
  const answer = await consul.healthService('web');
  expect(answer.data).toHaveLength(5000);
});

it('refuses a 5,000-entry answer whose last entry is not a health entry', async () => {
  body = JSON.stringify([...entries(4999), { Service: 'not an object' }]);
  await expect(consul.healthService('web')).rejects.toThrow(ConsulResponseError);
  await expect(consul.healthService('web')).rejects.toThrow(/not a list of health entries/);
});
