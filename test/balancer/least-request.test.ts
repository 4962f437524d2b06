import { LeastRequestBalancer } from '../../src/balancer/least-request';
import { countPicks, cycle, instance, instances, mulberry32 } from './helpers';

function startRequests(balancer: LeastRequestBalancer, id: string, count: number): void {
  for (let i = 0; i < count; i++) balancer.onRequestStart(instance(id));
}

describe('LeastRequestBalancer', () => {
  it('returns undefined for an empty list and the only instance when there is one', () => {
    const balancer = LeastRequestBalancer.from();
    expect(balancer.pick()).toBeUndefined();
    balancer.update([instance('solo')]);
    startRequests(balancer, 'solo', 100);
    expect(balancer.pick()?.id).toBe('solo');
    expect(balancer.pick({ exclude: new Set(['solo']) })).toBeUndefined();
  });

  it('never sends to an instance loaded far beyond the others', () => {
    const balancer = LeastRequestBalancer.from({ random: mulberry32(1) });
    balancer.update(instances(3));
    startRequests(balancer, 'i0', 50);
    const counts = countPicks(balancer, 10_000);
    expect(counts.has('i0')).toBe(false);
    expect(counts.get('i1')! + counts.get('i2')!).toBe(10_000);
  });

  it('compares two distinct instances even when both draws are equal', () => {
    // randomIndex(2) and randomIndex(1) are both 0; the second must become index 1.
    const balancer = LeastRequestBalancer.from({ random: () => 0 });
    balancer.update(instances(2));
    startRequests(balancer, 'i0', 1);
    expect(balancer.pick()?.id).toBe('i1');
  });

  it('breaks a tie with a random draw rather than always taking the first candidate', () => {
    const first = LeastRequestBalancer.from({ random: cycle(0, 0, 0.2) });
    first.update(instances(2));
    expect(first.pick()?.id).toBe('i0');
    const second = LeastRequestBalancer.from({ random: cycle(0, 0, 0.7) });
    second.update(instances(2));
    expect(second.pick()?.id).toBe('i1');
    // The first candidate takes draws in [0, 0.5), the second [0.5, 1).
    const half = LeastRequestBalancer.from({ random: cycle(0, 0, 0.5) });
    half.update(instances(2));
    expect(half.pick()?.id).toBe('i1');
  });

  it('balances in-flight load when requests start and end', () => {
    const random = mulberry32(12);
    const balancer = LeastRequestBalancer.from({ random });
    balancer.update(instances(4));
    const open: string[] = [];
    for (let i = 0; i < 400; i++) {
      const picked = balancer.pick()!;
      balancer.onRequestStart(picked);
      open.push(picked.id);
    }
    const loads = ['i0', 'i1', 'i2', 'i3'].map((id) => balancer.inflight(id));
    expect(loads.reduce((a, b) => a + b, 0)).toBe(400);
    // Random choice would spread 400 requests with a standard deviation of ~9 per instance.
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(3);
  });

  it('keeps counts across update() for ids still present and never goes negative', () => {
    const balancer = LeastRequestBalancer.from();
    balancer.update(instances(3));
    startRequests(balancer, 'i1', 3);
    balancer.update([...instances(3), instance('new')]);
    expect(balancer.inflight('i1')).toBe(3);
    balancer.onRequestEnd(instance('i2'), 5);
    expect(balancer.inflight('i2')).toBe(0);
    balancer.onRequestStart(instance('i2'));
    balancer.onRequestEnd(instance('i2'), 5);
    balancer.onRequestEnd(instance('i2'), 5);
    expect(balancer.inflight('i2')).toBe(0);
  });

  it('forgets an instance that leaves with nothing in flight', () => {
    const balancer = LeastRequestBalancer.from();
    balancer.update(instances(2));
    balancer.update(instances(1));
    balancer.onRequestStart(instance('i1')); // unknown: ignored
    expect(balancer.inflight('i1')).toBe(0);
  });

  it('tracks again an instance that came back while its requests were in flight', () => {
    const balancer = LeastRequestBalancer.from();
    balancer.update(instances(2));
    startRequests(balancer, 'i1', 1);
    balancer.update(instances(1));
    balancer.update(instances(2)); // back: present again, not merely draining
    balancer.onRequestEnd(instance('i1'), 1);
    balancer.onRequestStart(instance('i1'));
    expect(balancer.inflight('i1')).toBe(1);
  });

  it('keeps a departed instance’s count until its requests end, then forgets it', () => {
    const balancer = LeastRequestBalancer.from();
    balancer.update(instances(2));
    startRequests(balancer, 'i1', 2);
    balancer.update(instances(1));
    expect(balancer.inflight('i1')).toBe(2);
    balancer.update(instances(2)); // back before its requests ended
    expect(balancer.inflight('i1')).toBe(2);
    balancer.update(instances(1));
    balancer.onRequestEnd(instance('i1'), 1);
    balancer.onRequestEnd(instance('i1'), 1);
    balancer.onRequestStart(instance('i1')); // unknown again: ignored
    expect(balancer.inflight('i1')).toBe(0);
  });

  it('never picks a weight-0 instance even when it is idle', () => {
    const balancer = LeastRequestBalancer.from({ random: mulberry32(2) });
    balancer.update([instance('a'), instance('b'), instance('zero', 0)]);
    startRequests(balancer, 'a', 10);
    startRequests(balancer, 'b', 10);
    expect(countPicks(balancer, 1000).has('zero')).toBe(false);
  });

  it('prefers the cheapest allowed instance when the draws keep hitting excluded ones', () => {
    const balancer = LeastRequestBalancer.from({ random: () => 0 });
    balancer.update(instances(4)); // draws always compare i0 and i1
    startRequests(balancer, 'i2', 5);
    expect(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id).toBe('i3');
  });

  describe('failed responses', () => {
    function failingPair(clock: { now: number }): LeastRequestBalancer {
      const balancer = LeastRequestBalancer.from({ random: mulberry32(6), now: () => clock.now });
      balancer.update([instance('bad'), instance('good')]);
      return balancer;
    }

    it('sends away from an instance that just failed, even though it answers fast', () => {
      const clock = { now: 0 };
      const balancer = failingPair(clock);
      balancer.onRequestEnd(instance('bad'), 1, false);
      // bad: (0 + 1) × (1 + 1) = 2 > good: 1.
      expect(countPicks(balancer, 500).get('good')).toBe(500);
    });

    it('adds 1 to the cost factor for each recent failure', () => {
      const clock = { now: 0 };
      const balancer = failingPair(clock);
      balancer.onRequestEnd(instance('bad'), 1, false);
      balancer.onRequestEnd(instance('bad'), 1, false);
      // bad costs 1 × 3; good with one request in flight 2 × 1: good still wins.
      startRequests(balancer, 'good', 1);
      expect(countPicks(balancer, 200).get('good')).toBe(200);
      // good with three in flight costs 4 > 3: now bad wins.
      startRequests(balancer, 'good', 2);
      expect(countPicks(balancer, 200).get('bad')).toBe(200);
    });

    it('lets a failure fade with a 5 s time constant, then forgets it', () => {
      const clock = { now: 0 };
      const balancer = failingPair(clock);
      balancer.onRequestEnd(instance('bad'), 1, false);
      startRequests(balancer, 'good', 1); // good costs 2
      clock.now = 2_000; // bad: 1 + e^-0.4 = 1.67 < 2
      expect(countPicks(balancer, 200).get('bad')).toBe(200);
      balancer.onRequestEnd(instance('good'), 1); // good costs 1 again
      clock.now = 11_000; // bad: 1 + e^-2.2 = 1.11, still above good
      expect(countPicks(balancer, 200).get('good')).toBe(200);
      clock.now = 12_000; // e^-2.4 = 0.09 is below 0.1: forgotten, the two tie again
      const counts = countPicks(balancer, 2000);
      expect(Math.abs(counts.get('bad')! - 1000)).toBeLessThan(120);
    });

    it('decays the old score before adding a new failure', () => {
      const clock = { now: 0 };
      const balancer = failingPair(clock);
      balancer.onRequestEnd(instance('bad'), 1, false);
      clock.now = 5_000;
      balancer.onRequestEnd(instance('bad'), 1, false); // score e^-1 + 1 = 1.37, factor 2.37
      startRequests(balancer, 'good', 1); // 2 < 2.37
      expect(countPicks(balancer, 200).get('good')).toBe(200);
      startRequests(balancer, 'good', 1); // 3 > 2.37
      expect(countPicks(balancer, 200).get('bad')).toBe(200);
    });

    it('does not let a failure, or an impossible latency, teach a latency', () => {
      const clock = { now: 0 };
      const balancer = LeastRequestBalancer.from({
        now: () => clock.now,
        peakEwma: { decayMs: 10_000 },
      });
      balancer.update([instance('a'), instance('b')]);
      balancer.onRequestEnd(instance('a'), 5, false);
      balancer.onRequestEnd(instance('a'), -1);
      balancer.onRequestEnd(instance('a'), Infinity);
      balancer.onRequestEnd(instance('a'), Number.NaN);
      // Still unmeasured: the prior of 1 ms, not 5, -1 or Infinity.
      expect(balancer.latencyEstimateMs('a')).toBe(1);
      balancer.onRequestEnd(instance('a'), 0);
      expect(balancer.latencyEstimateMs('a')).toBe(0);
    });
  });

  describe('with exclusions', () => {
    it('draws up to four pairs before scanning', () => {
      // Three pairs (i0, i1) are both excluded; the fourth pair (i2, i0) has i2 allowed, which
      // it takes even though i2 is busier than i3, the one a scan would find.
      const balancer = LeastRequestBalancer.from({ random: cycle(0, 0, 0, 0, 0, 0, 0.5, 0) });
      balancer.update(instances(4));
      startRequests(balancer, 'i2', 5);
      expect(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id).toBe('i2');
    });

    it('takes the first allowed instance in id order when the scan finds a tie', () => {
      const balancer = LeastRequestBalancer.from({ random: () => 0 }); // draws i0 and i1
      balancer.update(instances(5));
      startRequests(balancer, 'i2', 1);
      expect(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id).toBe('i3');
    });

    it('compares the two drawn instances when both are allowed', () => {
      // random 0 draws i0 and i1 every time.
      const balancer = LeastRequestBalancer.from({ random: () => 0 });
      balancer.update(instances(3));
      startRequests(balancer, 'i0', 1);
      expect(balancer.pick({ exclude: new Set(['i2']) })?.id).toBe('i1');
    });

    it('takes the allowed one of the two drawn, however loaded, over an excluded one', () => {
      const balancer = LeastRequestBalancer.from({ random: () => 0 });
      balancer.update(instances(3));
      startRequests(balancer, 'i0', 9);
      expect(balancer.pick({ exclude: new Set(['i1']) })?.id).toBe('i0');
      const other = LeastRequestBalancer.from({ random: () => 0 });
      other.update(instances(3));
      startRequests(other, 'i1', 9);
      expect(other.pick({ exclude: new Set(['i0']) })?.id).toBe('i1');
    });

    it('scans for the cheapest allowed instance when every draw hits an excluded one', () => {
      const balancer = LeastRequestBalancer.from({ random: () => 0 });
      balancer.update(instances(5)); // draws always i0 and i1
      startRequests(balancer, 'i2', 3);
      startRequests(balancer, 'i3', 1);
      startRequests(balancer, 'i4', 2);
      expect(balancer.pick({ exclude: new Set(['i0', 'i1']) })?.id).toBe('i3');
      expect(balancer.pick({ exclude: new Set(['i0', 'i1', 'i3']) })?.id).toBe('i4');
    });
  });

  it('shows latency and ramp share in inspect() only when they are tracked', () => {
    const clock = { now: 0 };
    const plain = LeastRequestBalancer.from({ now: () => clock.now });
    plain.update(instances(2));
    expect(plain.inspect('i0')).toEqual({});
    const full = LeastRequestBalancer.from({
      now: () => clock.now,
      peakEwma: { decayMs: 10_000 },
      slowStartMs: 1000,
    });
    full.update([instance('old')]);
    full.update([instance('old'), instance('new')]);
    full.onRequestEnd(instance('old'), 40);
    clock.now = 500;
    expect(full.inspect('old')).toEqual({ latencyMs: 40 * Math.exp(-0.05), share: 1 });
    // The unmeasured newcomer gets the mean of the measured estimates as they were recorded.
    expect(full.inspect('new')).toEqual({ latencyMs: 40, share: 0.55 });
  });

  describe('peak EWMA', () => {
    function ewmaBalancer(clock: { now: number }, seed = 1): LeastRequestBalancer {
      return LeastRequestBalancer.from({
        random: mulberry32(seed),
        now: () => clock.now,
        peakEwma: { decayMs: 10_000 },
      });
    }

    it('sends to the faster instance while it is not much busier', () => {
      const clock = { now: 0 };
      const balancer = ewmaBalancer(clock);
      balancer.update([instance('fast'), instance('slow')]);
      balancer.onRequestEnd(instance('fast'), 10);
      balancer.onRequestEnd(instance('slow'), 100);
      expect(countPicks(balancer, 1000).get('fast')).toBe(1000);
      // 10 ms × (20 + 1) in flight costs more than 100 ms × 1.
      startRequests(balancer, 'fast', 20);
      expect(countPicks(balancer, 1000).get('slow')).toBe(1000);
    });

    it('has no estimate for an id it does not know', () => {
      const balancer = ewmaBalancer({ now: 0 });
      balancer.update([instance('a')]);
      expect(balancer.latencyEstimateMs('ghost')).toBeUndefined();
      expect(balancer.inspect('ghost')).toEqual({});
    });

    it('without peakEwma ignores latency and splits evenly', () => {
      const balancer = LeastRequestBalancer.from({ random: mulberry32(4) });
      balancer.update([instance('fast'), instance('slow')]);
      balancer.onRequestEnd(instance('fast'), 10);
      balancer.onRequestEnd(instance('slow'), 100);
      expect(balancer.latencyEstimateMs('fast')).toBeUndefined();
      const fast = countPicks(balancer, 10_000).get('fast')!;
      expect(Math.abs(fast - 5000)).toBeLessThan(300);
    });

    it('jumps to a latency above the estimate at once and decays toward lower ones', () => {
      const clock = { now: 0 };
      const balancer = ewmaBalancer(clock);
      balancer.update([instance('a'), instance('b')]);
      balancer.onRequestEnd(instance('a'), 10);
      balancer.onRequestEnd(instance('a'), 500);
      expect(balancer.latencyEstimateMs('a')).toBe(500);
      clock.now = 10_000; // one time constant later a 10 ms sample keeps e^-1 of the old value
      balancer.onRequestEnd(instance('a'), 10);
      expect(balancer.latencyEstimateMs('a')).toBeCloseTo(
        500 * Math.exp(-1) + 10 * (1 - Math.exp(-1)),
        9,
      );
      // With no time elapsed a lower sample cannot move the estimate.
      balancer.onRequestEnd(instance('a'), 1);
      expect(balancer.latencyEstimateMs('a')).toBeCloseTo(190.26, 1);
    });

    it('lets an instance with one old slow response be tried again', () => {
      const clock = { now: 0 };
      const balancer = ewmaBalancer(clock);
      balancer.update([instance('spiked'), instance('steady')]);
      balancer.onRequestEnd(instance('spiked'), 1000);
      balancer.onRequestEnd(instance('steady'), 100);
      expect(countPicks(balancer, 100).get('steady')).toBe(100);
      clock.now = 50_000; // `steady` kept answering in 100 ms; `spiked` got no traffic
      balancer.onRequestEnd(instance('steady'), 100);
      expect(balancer.latencyEstimateMs('spiked')).toBeCloseTo(1000 * Math.exp(-5), 6);
      expect(countPicks(balancer, 100).get('spiked')).toBe(100);
    });

    it('gives a new instance the mean estimate of the measured ones', () => {
      const clock = { now: 0 };
      const balancer = ewmaBalancer(clock);
      balancer.update([instance('a'), instance('b')]);
      expect(balancer.latencyEstimateMs('a')).toBe(1);
      balancer.onRequestEnd(instance('a'), 10);
      balancer.onRequestEnd(instance('b'), 30);
      balancer.update([instance('a'), instance('b'), instance('c')]);
      expect(balancer.latencyEstimateMs('c')).toBe(20);
    });

    it('keeps the new-instance prior at the mean of the current measured instances', () => {
      const clock = { now: 0 };
      const balancer = ewmaBalancer(clock);
      balancer.update([instance('a'), instance('b'), instance('c')]);
      balancer.onRequestEnd(instance('a'), 10);
      balancer.onRequestEnd(instance('b'), 30);
      expect(balancer.latencyEstimateMs('c')).toBe(20);
      balancer.onRequestEnd(instance('a'), 50); // a jumps to 50: the mean is now 40
      expect(balancer.latencyEstimateMs('c')).toBe(40);
      // b leaves with a request in flight; its late answer must not count for the others.
      startRequests(balancer, 'b', 1);
      balancer.update([instance('a'), instance('c')]);
      expect(balancer.latencyEstimateMs('c')).toBe(50);
      balancer.onRequestEnd(instance('b'), 1000);
      expect(balancer.latencyEstimateMs('c')).toBe(50);
    });

    it('does not let a 0 ms answer make the in-flight count irrelevant', () => {
      const clock = { now: 0 };
      const balancer = ewmaBalancer(clock);
      balancer.update([instance('instant'), instance('steady')]);
      balancer.onRequestEnd(instance('instant'), 0);
      balancer.onRequestEnd(instance('steady'), 0.01);
      // instant: 0 ms counts as 0.001, × (20 + 1) = 0.021 > steady 0.01 × 1.
      startRequests(balancer, 'instant', 20);
      expect(countPicks(balancer, 200).get('steady')).toBe(200);
    });

    it('rejects a non-positive decay', () => {
      expect(() => LeastRequestBalancer.from({ peakEwma: { decayMs: 0 } })).toThrow(
        'balancerOptions.peakEwma.decayMs',
      );
    });
  });

  it('treats a slow-starting instance as proportionally more loaded', () => {
    const clock = { now: 0 };
    const balancer = LeastRequestBalancer.from({
      random: mulberry32(5),
      now: () => clock.now,
      slowStartMs: 10_000,
    });
    balancer.update([instance('old')]);
    balancer.update([instance('old'), instance('new')]);
    startRequests(balancer, 'old', 5);
    // new: (0 + 1) / 0.1 = 10 > old: 5 + 1.
    expect(countPicks(balancer, 100).get('old')).toBe(100);
    clock.now = 10_000;
    expect(countPicks(balancer, 100).get('new')).toBe(100);
  });
});
