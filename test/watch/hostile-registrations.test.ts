// Registrations are written by anyone holding service:write on some name: every field of a health
// entry is untrusted. These tests pin what the parser keeps, what it leaves out and why.
import {
  parseServiceInstances,
  toServiceInstance,
  toServiceInstances,
} from '../../src/watch/to-service-instance';
import { instanceAuthority, instanceIdentity } from '../../src/watch/service-instance';
import type { HealthServiceEntry } from '../../src/consul/consul-types';
import { healthEntry } from './fake-health-source';

/** An entry whose service fields are replaced by `fields` (any type: Consul's JSON is untrusted). */
function entryWith(fields: Record<string, unknown>, node: Record<string, unknown> = {}): unknown {
  const entry = healthEntry('svc-1') as unknown as {
    Service: Record<string, unknown>;
    Node: Record<string, unknown>;
  };
  Object.assign(entry.Service, fields);
  Object.assign(entry.Node, node);
  return entry;
}

function parse(entries: unknown[]): ReturnType<typeof parseServiceInstances> {
  return parseServiceInstances(entries as HealthServiceEntry[]);
}

function reasonOf(entry: unknown): string | undefined {
  const { instances, rejected } = parse([entry]);
  expect(instances.length + rejected.length).toBe(1);
  return rejected[0]?.reason;
}

describe('instance addresses', () => {
  it.each([
    ['10.0.0.5', '10.0.0.5'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::7', '2001:db8::7'],
    // Canonical forms, as the URL parser writes them, so the pool dials exactly this host.
    ['2001:DB8:0:0::7', '2001:db8::7'],
    ['::ffff:127.0.0.1', '::ffff:7f00:1'],
    ['localhost', 'localhost'],
    ['payments-1.service.consul', 'payments-1.service.consul'],
    ['Node-7.Example.COM', 'node-7.example.com'],
    ['ip-10-0-0-1.ec2.internal', 'ip-10-0-0-1.ec2.internal'],
    ['1host', '1host'],
  ])('keeps %j as %j', (address, expected) => {
    const instance = toServiceInstance(entryWith({ Address: address }) as HealthServiceEntry);
    expect(instance?.address).toBe(expected);
    const url = new URL(`http://${instanceAuthority(instance!)}`);
    expect(url.port).toBe('8080');
  });

  it.each([
    'evil.example:9999',
    '127.0.0.1:9999',
    '127.0.0.1/x?',
    'host/path',
    'a@b',
    'user:pw@host',
    ' 10.0.0.1',
    '10.0.0.1 ',
    'a b',
    'a\r\nb',
    'a\u0000b',
    'fe80::1%eth0',
    '[::1]',
    '[::1]:80',
    'http://host',
    '1.2.3',
    '10.0.0.256',
    '0x7f',
    '010.0.0.1',
    '-leading.example',
    'trailing-.example',
    'a..b',
    'ünicode.example',
    'xn--nxasmq6b.example\u200b',
    `${'a'.repeat(64)}.example`,
    `${'abc.'.repeat(64)}example`,
    '#frag',
    'a?b',
    '\\\\host',
  ])('leaves out %j (reason address)', (address) => {
    expect(reasonOf(entryWith({ Address: address }))).toBe('address');
  });

  it('falls back to the node address, and leaves out an entry where both are empty', () => {
    expect(
      toServiceInstance(entryWith({ Address: '' }, { Address: '10.1.1.1' }) as HealthServiceEntry)
        ?.address,
    ).toBe('10.1.1.1');
    expect(reasonOf(entryWith({ Address: '' }, { Address: '' }))).toBe('address');
    expect(reasonOf(entryWith({ Address: '' }, { Address: 'bad host' }))).toBe('address');
    expect(reasonOf(entryWith({ Address: 42 }))).toBe('address');
  });
});

describe('instance ports, weights, tags and meta', () => {
  it.each([70_000, 65_536, -5, 0, 1.5, Number.NaN, Infinity, '8080', null, undefined])(
    'leaves out port %j',
    (port) => {
      expect(reasonOf(entryWith({ Port: port }))).toBe('port');
    },
  );

  it('keeps ports 1 and 65535', () => {
    expect(toServiceInstance(entryWith({ Port: 1 }) as HealthServiceEntry)?.port).toBe(1);
    expect(toServiceInstance(entryWith({ Port: 65_535 }) as HealthServiceEntry)?.port).toBe(65_535);
  });

  it.each([
    { Passing: -1, Warning: 1 },
    { Passing: 65_536, Warning: 1 },
    { Passing: 2 ** 60, Warning: 1 },
    { Passing: 1.5, Warning: 1 },
    { Passing: '3', Warning: 1 },
    { Passing: 1, Warning: -2 },
    'heavy',
    [1, 1],
  ])('leaves out weights %j', (weights) => {
    expect(reasonOf(entryWith({ Weights: weights }))).toBe('weights');
  });

  it('uses the default weight when weights or one of them are missing', () => {
    expect(toServiceInstance(entryWith({ Weights: null }) as HealthServiceEntry)?.weight).toBe(1);
    expect(toServiceInstance(entryWith({ Weights: {} }) as HealthServiceEntry)?.weight).toBe(1);
    expect(
      toServiceInstance(entryWith({ Weights: { Passing: 65_535 } }) as HealthServiceEntry)?.weight,
    ).toBe(65_535);
  });

  it.each(['blue', [1], ['ok', null], { 0: 'x' }])('leaves out tags %j', (tags) => {
    expect(reasonOf(entryWith({ Tags: tags }))).toBe('tags');
  });

  it.each(['v=1', ['a'], { version: 2 }, { version: null }])('leaves out meta %j', (meta) => {
    expect(reasonOf(entryWith({ Meta: meta }))).toBe('meta');
  });

  it('keeps __proto__ and constructor meta keys as plain data, polluting nothing', () => {
    const meta = JSON.parse('{"__proto__":"p","constructor":"c","scheme":"http"}') as unknown;
    const instance = toServiceInstance(entryWith({ Meta: meta }) as HealthServiceEntry);
    expect(instance).toBeDefined();
    expect(Object.getPrototypeOf(instance!.meta)).toBe(Object.prototype);
    expect(Object.keys(instance!.meta).sort()).toEqual(['__proto__', 'constructor', 'scheme']);
    expect(Object.getOwnPropertyDescriptor(instance!.meta, '__proto__')?.value).toBe('p');
    expect(({} as Record<string, unknown>).p).toBeUndefined();
    expect(Object.isFrozen(instance!.meta)).toBe(true);
  });
});

describe('malformed entries', () => {
  it.each([
    null,
    42,
    'entry',
    [],
    {},
    { Service: null, Node: {}, Checks: [] },
    { Service: {}, Node: null, Checks: [] },
    { ...(healthEntry('x') as object), Checks: 'passing' },
    { ...(healthEntry('x') as object), Checks: [null] },
    { ...(healthEntry('x') as object), Checks: [{ Status: 7 }] },
  ])('never throws on %j and leaves it out', (entry) => {
    const { instances, rejected } = parse([entry]);
    expect(instances).toEqual([]);
    expect(rejected).toHaveLength(1);
  });

  it.each([{ ID: '' }, { ID: 7 }, { ID: 'lone \ud800 surrogate' }, { Service: 3 }])(
    'leaves out an entry with service fields %j (reason identity)',
    (fields) => {
      expect(reasonOf(entryWith(fields))).toBe('identity');
    },
  );

  it('leaves out an entry with no node name (reason identity)', () => {
    expect(reasonOf(entryWith({}, { Node: '' }))).toBe('identity');
  });
});

describe('instance identity', () => {
  it('keeps ordinary names readable', () => {
    expect(instanceIdentity('node-1', 'web-1')).toBe('node-1/web-1');
    expect(instanceIdentity('ip-10-0-0-1.ec2.internal', 'payments:8080')).toBe(
      'ip-10-0-0-1.ec2.internal/payments:8080',
    );
  });

  it('cannot be forged: a slash in the node or the id is escaped', () => {
    const agentService = instanceIdentity('vm', 'a/b');
    const otherNode = instanceIdentity('vm/a', 'b');
    expect(agentService).not.toBe(otherNode);
    expect(agentService).toBe('vm/a%2Fb');
    expect(otherNode).toBe('vm%2Fa/b');
    expect(instanceIdentity('n', '%2F')).not.toBe(instanceIdentity('n', '/'));
  });

  it('is safe in a header, a log line and a label: controls, spaces and non-ASCII escaped', () => {
    const id = instanceIdentity('node 1', 'web\r\nx-evil: 1\u00e9\u{1f600}');
    expect(id).toMatch(/^[\x21-\x7e]+$/);
    expect(id).toBe('node%201/web%0D%0Ax-evil:%201%C3%A9%F0%9F%98%80');
    expect(() => new Headers({ 'x-served-by': id })).not.toThrow();
  });

  it('separates the two colliding registrations of issue #13 in a parsed answer', () => {
    const a = entryWith({ ID: 'a/b' }, { Node: 'vm' });
    const b = entryWith({ ID: 'b' }, { Node: 'vm/a' });
    const ids = toServiceInstances([a, b] as HealthServiceEntry[]).map((i) => i.id);
    expect(new Set(ids).size).toBe(2);
  });

  it('keeps one of two entries with the same node and id, and reports the other', () => {
    const first = entryWith({ Port: 1001 });
    const second = entryWith({ Port: 1002 });
    const { instances, rejected } = parse([first, second]);
    expect(instances.map((i) => i.port)).toEqual([1001]);
    expect(rejected.map((r) => r.reason)).toEqual(['duplicate']);
  });
});

describe('rejections', () => {
  it('name the instance and the reason, with the value shown short and escaped', () => {
    const { rejected } = parse([entryWith({ Port: 70_000, ID: 'bad\nid' })]);
    expect(rejected).toEqual([
      expect.objectContaining({ reason: 'port', node: 'node-1', serviceId: 'bad\nid' }),
    ]);
    expect(rejected[0]!.identity).toBe('node-1/bad%0Aid');
    expect(rejected[0]!.detail).toContain('70000');
    expect(rejected[0]!.detail).not.toMatch(/[\r\n]/);
  });

  it('show a long hostile value cut short', () => {
    const { rejected } = parse([entryWith({ Address: `${'x'.repeat(5_000)}:1` })]);
    expect(rejected[0]!.detail.length).toBeLessThan(200);
  });
});
