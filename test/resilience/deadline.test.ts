import { getEventListeners } from 'node:events';
import { DeadlineExpired, isDeadlineExpired, startDeadline } from '../../src/resilience/deadline';

describe('startDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('aborts with its own typed reason when the time runs out', () => {
    const parent = new AbortController();
    const deadline = startDeadline(500, parent.signal);
    jest.advanceTimersByTime(499);
    expect(deadline.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.expired).toBe(true);
    expect(isDeadlineExpired(deadline.signal.reason)).toBe(true);
    expect((deadline.signal.reason as DeadlineExpired).timeoutMs).toBe(500);
    expect((deadline.signal.reason as DeadlineExpired).name).toBe('TimeoutError');
    // Expiry lets go of the parent too: a long-lived parent keeps no listener of ours.
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it("relays a parent's abort with the parent's reason, and clears its timer", () => {
    const first = new AbortController();
    const second = new AbortController();
    const deadline = startDeadline(10_000, first.signal, undefined, second.signal);
    const reason = new Error('caller gave up');
    second.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.expired).toBe(false);
    expect(isDeadlineExpired(deadline.signal.reason)).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);
  });

  it("never takes a parent's TimeoutError for its own expiry", () => {
    const parent = new AbortController();
    const deadline = startDeadline(10_000, parent.signal);
    parent.abort(new DOMException('the caller timed out', 'TimeoutError'));
    expect(deadline.signal.aborted).toBe(true);
    expect(isDeadlineExpired(deadline.signal.reason)).toBe(false);
    expect(deadline.expired).toBe(false);
  });

  it('starts aborted, without a timer, under a parent that already aborted', () => {
    const parent = new AbortController();
    parent.abort('gone');
    const deadline = startDeadline(1_000, parent.signal);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe('gone');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('leaves no timer and no parent listener once disposed, and never aborts after', () => {
    const parent = new AbortController();
    const deadline = startDeadline(1_000, parent.signal);
    expect(jest.getTimerCount()).toBe(1);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    deadline.dispose();
    expect(jest.getTimerCount()).toBe(0);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    deadline.dispose();
    jest.advanceTimersByTime(5_000);
    parent.abort();
    expect(deadline.signal.aborted).toBe(false);
  });

  it('is disposed by `using`', () => {
    {
      using deadline = startDeadline(1_000);
      expect(deadline.signal.aborted).toBe(false);
      expect(jest.getTimerCount()).toBe(1);
    }
    expect(jest.getTimerCount()).toBe(0);
  });
});
