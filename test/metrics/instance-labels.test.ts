import { InstanceLabels, OTHER_INSTANCE } from '../../src/metrics/instance-labels';

describe('InstanceLabels', () => {
  it('gives the first `limit` instances their own label and the rest `other`', () => {
    const labels = new InstanceLabels(2);
    expect(labels.acquire('n/a')).toBe('n/a');
    expect(labels.acquire('n/b')).toBe('n/b');
    expect(labels.acquire('n/c')).toBe(OTHER_INSTANCE);
    expect(labels.size).toBe(2);
  });

  it('frees a slot when the last share is released, and only then', () => {
    const labels = new InstanceLabels(1);
    expect(labels.acquire('n/a')).toBe('n/a');
    expect(labels.acquire('n/a')).toBe('n/a');
    expect(labels.release('n/a')).toBeUndefined();
    expect(labels.acquire('n/b')).toBe(OTHER_INSTANCE);
    expect(labels.release('n/a')).toBe('n/a');
    expect(labels.size).toBe(0);
    // n/b keeps `other` for its life; the freed slot goes to the next newcomer.
    expect(labels.acquire('n/b')).toBe(OTHER_INSTANCE);
    expect(labels.acquire('n/c')).toBe('n/c');
  });

  it('never asks to remove `other`, and ignores unknown identities', () => {
    const labels = new InstanceLabels(0);
    expect(labels.acquire('n/a')).toBe(OTHER_INSTANCE);
    expect(labels.release('n/a')).toBeUndefined();
    expect(labels.release('n/never')).toBeUndefined();
  });

  it('treats an instance literally named `other` like any other', () => {
    const labels = new InstanceLabels(1);
    expect(labels.acquire('other')).toBe('other');
    expect(labels.release('other')).toBe('other');
    expect(labels.acquire('n/a')).toBe('n/a');
  });
});
