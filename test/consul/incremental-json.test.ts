import fc from 'fast-check';
import { jsonArrayElements, parseJsonIncrementally } from '../../src/consul/incremental-json';

const always = { minLength: 0, sliceMs: 0, yieldNow: () => Promise.resolve() };

async function outcome(run: () => unknown): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    expect(error).toBeInstanceOf(SyntaxError);
    return { ok: false };
  }
}

describe('parseJsonIncrementally', () => {
  test('equals JSON.parse on any JSON array, however it is spaced', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue()),
        fc.constantFrom('', ' ', '\n', '\t ', '\r\n'),
        async (values, space) => {
          const text = `${space}[${space}${values.map((v) => JSON.stringify(v, null, space.length > 0 ? 1 : 0)).join(`${space},${space}`)}${space}]${space}`;
          expect(await parseJsonIncrementally(text, always)).toEqual(JSON.parse(text));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('agrees with JSON.parse on mutated (mostly malformed) input: same value or a SyntaxError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.jsonValue(), { minLength: 1 }),
        fc.array(
          fc.record({
            at: fc.nat(),
            text: fc.constantFrom('[', ']', '{', '}', ',', '"', '\\', ' ', '1', ':', 'x', ''),
            cut: fc.nat({ max: 2 }),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        async (values, edits) => {
          let text = JSON.stringify(values);
          for (const edit of edits) {
            const at = edit.at % (text.length + 1);
            text = text.slice(0, at) + edit.text + text.slice(at + edit.cut);
          }
          const expected = await outcome(() => JSON.parse(text));
          const actual = await outcome(() => parseJsonIncrementally(text, always));
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 800 },
    );
  });

  test('yields to the event loop while a large array is parsed', async () => {
    const text = JSON.stringify(
      Array.from({ length: 2_000 }, (_, i) => ({ i, s: 'x'.repeat(50) })),
    );
    let yields = 0;
    const value = await parseJsonIncrementally(text, {
      minLength: 0,
      sliceMs: 0,
      yieldNow: () => {
        yields += 1;
        return Promise.resolve();
      },
    });
    expect(value).toEqual(JSON.parse(text));
    expect(yields).toBeGreaterThanOrEqual(1_000);
  });

  test('stops when its signal aborts', async () => {
    const text = JSON.stringify(Array.from({ length: 100 }, (_, i) => i));
    const controller = new AbortController();
    const reason = new Error('stop');
    const parsing = parseJsonIncrementally(text, {
      ...always,
      signal: controller.signal,
      yieldNow: () => {
        controller.abort(reason);
        return Promise.resolve();
      },
    });
    await expect(parsing).rejects.toBe(reason);
  });

  test('short bodies and non-arrays are parsed at once', async () => {
    expect(await parseJsonIncrementally('{"a":[1,2]}', { minLength: 0 })).toEqual({ a: [1, 2] });
    expect(await parseJsonIncrementally('[1,2]')).toEqual([1, 2]);
  });
});

describe('jsonArrayElements', () => {
  test('splits at top-level commas only, strings with brackets and escaped quotes included', () => {
    const text = '[{"a":"],\\"["},[1,[2]],"x\\\\",3]';
    expect([...jsonArrayElements(text)]).toEqual(['{"a":"],\\"["}', '[1,[2]]', '"x\\\\"', '3']);
  });
});
