import { InvalidStateError } from '../../src/errors';
import { ListenerSet } from '../../src/events/listener-set';
import type { Logger } from '../../src/logger';

function logger(onError: (obj: object, msg?: string) => void): Logger {
  const noop = (): void => {};
  return { debug: noop, info: noop, warn: noop, error: onError };
}

describe('ListenerSet', () => {
  it('calls listeners in subscription order; a disposer removes its own subscription only', () => {
    const set = new ListenerSet<number>('test listener', () => logger(() => {}));
    const calls: string[] = [];
    const a = (n: number): void => void calls.push(`a${n}`);
    const disposeFirst = set.add(a);
    set.add(a);
    set.add((n) => calls.push(`b${n}`));
    set.emit(1);
    disposeFirst();
    set.emit(2);
    expect(calls).toEqual(['a1', 'a1', 'b1', 'a2', 'b2']);
    expect(set.size).toBe(2);
  });

  it('logs a throwing listener with its message and the context, runs the rest, never throws', () => {
    const lines: [object, string | undefined][] = [];
    const set = new ListenerSet<string>(
      'change listener of x',
      () => logger((obj, msg) => lines.push([obj, msg])),
      {
        service: 'x',
      },
    );
    const after = jest.fn();
    set.add(() => {
      throw new Error('boom');
    });
    set.add(after);
    expect(() => set.emit('e')).not.toThrow();
    expect(after).toHaveBeenCalledWith('e');
    expect(lines).toEqual([
      [{ service: 'x', error: 'boom' }, 'express-consul: a change listener of x threw'],
    ]);
  });

  it('survives a logger that throws too', () => {
    const set = new ListenerSet<void>('test listener', () =>
      logger(() => {
        throw new Error('logger down');
      }),
    );
    const after = jest.fn();
    set.add(() => {
      throw new Error('boom');
    });
    set.add(after);
    expect(() => set.emit()).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
  });

  it('delivers an event to the listeners subscribed when it was emitted', () => {
    const set = new ListenerSet<number>('test listener', () => logger(() => {}));
    const late = jest.fn();
    set.add(() => {
      set.add(late);
    });
    set.emit(1);
    expect(late).not.toHaveBeenCalled();
    set.emit(2);
    expect(late).toHaveBeenCalledWith(2);
  });

  it('refuses a listener that is not a function', () => {
    const set = new ListenerSet<number>('test listener', () => logger(() => {}));
    expect(() => set.add(undefined as never)).toThrow(InvalidStateError);
  });
});
