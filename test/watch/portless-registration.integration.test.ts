// Consul leaves out zero values: a registration without a port (or with port 0) comes back with no
// `Port` field at all. That entry is invalid for us, but it must cost only itself: the rest of the
// answer stays usable (before, the whole answer was refused and the watch never became ready).
import { createDiscovery } from '../../src/client/create-discovery';
import { uniqueService } from '../support/test-instance';

const consul = (): string => process.env.CONSUL_HTTP_ADDR!;

async function register(body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${consul()}/v1/agent/service/register`, {
    method: 'PUT',
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
}

async function deregister(id: string): Promise<void> {
  const response = await fetch(`${consul()}/v1/agent/service/deregister/${id}`, { method: 'PUT' });
  await response.arrayBuffer();
}

describe('a registration Consul answers without a Port', () => {
  it('is left out; the good instances beside it are served', async () => {
    const name = uniqueService('portless');
    await register({ ID: `${name}-good`, Name: name, Address: '127.0.0.1', Port: 5000 });
    await register({ ID: `${name}-portless`, Name: name, Address: '127.0.0.1' });
    const discovery = createDiscovery({ metrics: false });
    try {
      const client = discovery.service(name);
      await client.ready(AbortSignal.timeout(10_000));
      expect(client.instances().map((instance) => instance.serviceId)).toEqual([`${name}-good`]);
    } finally {
      await discovery.close();
      await deregister(`${name}-good`);
      await deregister(`${name}-portless`);
    }
  });
});
