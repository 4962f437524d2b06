import { toServiceInstance, toServiceInstances } from '../../src/watch/to-service-instance';
import { healthEntry } from './fake-health-source';

describe('toServiceInstance', () => {
  it('takes the service address, else the node address', () => {
    expect(toServiceInstance(healthEntry('a', { address: '10.0.0.5' }))?.address).toBe('10.0.0.5');
    expect(toServiceInstance(healthEntry('a', { nodeAddress: '10.0.0.1' }))?.address).toBe(
      '10.0.0.1',
    );
  });

  it('maps the fields and freezes the result', () => {
    const instance = toServiceInstance(
      healthEntry('web-1', { port: 9000, tags: ['blue'], meta: { version: '2' } }),
    );
    expect(instance).toEqual({
      id: 'node-1/web-1',
      serviceId: 'web-1',
      service: 'web',
      node: 'node-1',
      address: '127.0.0.1',
      port: 9000,
      tags: ['blue'],
      meta: { version: '2' },
      status: 'passing',
      weight: 1,
    });
    expect(Object.isFrozen(instance)).toBe(true);
    expect(Object.isFrozen(instance?.tags)).toBe(true);
    expect(Object.isFrozen(instance?.meta)).toBe(true);
  });

  it('defaults null tags and meta to empty ones', () => {
    const instance = toServiceInstance(healthEntry('a', { tags: null, meta: null }));
    expect(instance?.tags).toEqual([]);
    expect(instance?.meta).toEqual({});
  });

  it('does not share arrays with the Consul answer', () => {
    const entry = healthEntry('a', { tags: ['x'] });
    const instance = toServiceInstance(entry);
    entry.Service.Tags?.push('y');
    expect(instance?.tags).toEqual(['x']);
  });

  it('takes the worst check: warning over passing; critical and maintenance are dropped', () => {
    expect(toServiceInstance(healthEntry('a', { checks: [] }))?.status).toBe('passing');
    expect(toServiceInstance(healthEntry('a', { checks: ['passing', 'passing'] }))?.status).toBe(
      'passing',
    );
    expect(toServiceInstance(healthEntry('a', { checks: ['passing', 'warning'] }))?.status).toBe(
      'warning',
    );
    expect(
      toServiceInstance(healthEntry('a', { checks: ['warning', 'critical'] })),
    ).toBeUndefined();
    expect(
      toServiceInstance(healthEntry('a', { checks: ['passing', 'maintenance'] })),
    ).toBeUndefined();
  });

  it('drops an entry whose check status it does not know', () => {
    const entry = healthEntry('a');
    (entry.Checks[0] as { Status: string }).Status = 'unknown';
    expect(toServiceInstance(entry)).toBeUndefined();
  });

  it('weighs by status, with Consul defaults of 1/1', () => {
    const weights = { Passing: 10, Warning: 2 };
    expect(toServiceInstance(healthEntry('a', { weights }))?.weight).toBe(10);
    expect(toServiceInstance(healthEntry('a', { weights, checks: ['warning'] }))?.weight).toBe(2);
    expect(toServiceInstance(healthEntry('a'))?.weight).toBe(1);
    expect(toServiceInstance(healthEntry('a', { checks: ['warning'] }))?.weight).toBe(1);
    expect(
      toServiceInstance(
        healthEntry('a', { weights: { Passing: 3, Warning: 0 }, checks: ['warning'] }),
      )?.weight,
    ).toBe(0);
  });
});

describe('toServiceInstances', () => {
  it('drops critical entries, sorts by id and freezes the list', () => {
    const list = toServiceInstances([
      healthEntry('c'),
      healthEntry('a', { checks: ['critical'] }),
      healthEntry('b', { checks: ['warning'] }),
      healthEntry('a2'),
    ]);
    expect(list.map((i) => i.id)).toEqual(['node-1/a2', 'node-1/b', 'node-1/c']);
    expect(Object.isFrozen(list)).toBe(true);
  });

  it('orders equal ids by node', () => {
    const first = healthEntry('a');
    const second = healthEntry('a');
    first.Node.Node = 'node-b';
    second.Node.Node = 'node-a';
    expect(toServiceInstances([first, second]).map((i) => i.node)).toEqual(['node-a', 'node-b']);
  });
});
