import { WatchSet } from '../../src/client/watch-set';

/** A set on a clock the test moves by hand. */
function setWith(limits: { maxServices: number; idleTimeoutMs: number }) {
  const clock = { ms: 1_000 };
  const set = new WatchSet<string>({ ...limits, now: () => clock.ms });
  return { set, clock };
}

describe('WatchSet (eviction logic, injected clock)', () => {
  it('finds on-demand services idle once idleTimeoutMs passed since their last call began or settled', () => {
    const { set, clock } = setWith({ maxServices: 10, idleTimeoutMs: 500 });
    const a = set.add('a', 'A', 'on-demand');
    const b = set.add('b', 'B', 'on-demand');
    clock.ms += 499;
    expect(set.idle()).toEqual([]);
    set.begin(b);
    set.end(b);
    clock.ms += 1;
    expect(set.idle()).toEqual([a]);
    // `b` settled at 1499: idle at 1999, exactly idleTimeoutMs later.
    clock.ms += 498;
    expect(set.idle()).toEqual([a]);
    clock.ms += 1;
    expect(set.idle()).toEqual([a, b]);
  });

  it('never finds a service idle while a call is in flight, however long it takes', () => {
    const { set, clock } = setWith({ maxServices: 10, idleTimeoutMs: 500 });
    const slow = set.add('slow', 'S', 'on-demand');
    set.begin(slow);
    clock.ms += 60_000;
    expect(set.idle()).toEqual([]);
    // The call settles (resolved or threw): idle a full timeout later, not at once.
    set.end(slow);
    expect(set.idle()).toEqual([]);
    clock.ms += 500;
    expect(set.idle()).toEqual([slow]);
  });

  it('counts calls, so one settling call does not make a service with another in flight idle', () => {
    const { set, clock } = setWith({ maxServices: 10, idleTimeoutMs: 500 });
    const slot = set.add('a', 'A', 'on-demand');
    set.begin(slot);
    set.begin(slot);
    set.end(slot);
    clock.ms += 1_000;
    expect(set.idle()).toEqual([]);
    set.end(slot);
    clock.ms += 500;
    expect(set.idle()).toEqual([slot]);
  });

  it('never finds configured or pinned services idle, and idleTimeoutMs 0 releases nothing', () => {
    const { set, clock } = setWith({ maxServices: 10, idleTimeoutMs: 500 });
    set.add('configured', 'C', 'configured');
    const pinned = set.add('pinned', 'P', 'on-demand');
    set.pin(pinned);
    clock.ms += 10_000;
    expect(set.idle()).toEqual([]);
    expect(set.hasReleasable).toBe(false);

    const never = setWith({ maxServices: 10, idleTimeoutMs: 0 });
    never.set.add('a', 'A', 'on-demand');
    never.clock.ms += 1e9;
    expect(never.set.idle()).toEqual([]);
    expect(never.set.hasReleasable).toBe(false);
  });

  it('has room below the cap, names the least recently used idle on-demand service at it', () => {
    const { set, clock } = setWith({ maxServices: 3, idleTimeoutMs: 0 });
    const a = set.add('a', 'A', 'on-demand');
    clock.ms += 1;
    const b = set.add('b', 'B', 'on-demand');
    clock.ms += 1;
    expect(set.makeRoom()).toEqual({ kind: 'free' });
    const c = set.add('c', 'C', 'on-demand');
    clock.ms += 1;
    expect(set.makeRoom()).toEqual({ kind: 'evict', slot: a });
    // Used again: `a` is now the most recent, `b` the least.
    set.begin(a);
    set.end(a);
    expect(set.makeRoom()).toEqual({ kind: 'evict', slot: b });
    // Busy and pinned services are never chosen.
    set.begin(b);
    set.pin(c);
    expect(set.makeRoom()).toEqual({ kind: 'evict', slot: a });
    set.begin(a);
    expect(set.makeRoom()).toEqual({ kind: 'full' });
    set.end(b);
    expect(set.makeRoom()).toEqual({ kind: 'evict', slot: b });
  });

  it('does not count configured services against the cap', () => {
    const { set } = setWith({ maxServices: 1, idleTimeoutMs: 0 });
    set.add('x', 'X', 'configured');
    set.add('y', 'Y', 'configured');
    expect(set.makeRoom()).toEqual({ kind: 'free' });
    const p = set.add('p', 'P', 'pinned');
    expect(set.countedSize).toBe(1);
    expect(set.makeRoom()).toEqual({ kind: 'full' });
    set.delete(p);
    expect(set.countedSize).toBe(0);
    expect(set.size).toBe(2);
  });

  it('deletes a slot only while it is the one under its key', () => {
    const { set } = setWith({ maxServices: 2, idleTimeoutMs: 0 });
    const old = set.add('a', 'old', 'on-demand');
    set.delete(old);
    const fresh = set.add('a', 'new', 'on-demand');
    // A late second release of the old slot must not remove the new client.
    set.delete(old);
    expect(set.get('a')).toBe(fresh);
    expect(set.countedSize).toBe(1);
  });
});
