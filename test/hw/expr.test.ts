import { evaluate } from 'mathjs';
import { describe, expect, it } from 'vitest';
import { ExprError, ExprSet, numberOps, type GeometryVar } from '../../src/hw/expr.js';
import { Rng } from '../../src/models/rng.js';

const ANALOG = new Map<string, [string, string]>([
  ['inRows', ['h.inRows', 'max(64, cin) * ky']],
  ['fits8', ['h.fits8', '8 * n <= 512 and (8 + kx - 1) * inRows <= 1152']],
  ['fits4', ['h.fits4', '4 * n <= 512 and (4 + kx - 1) * inRows <= 1152']],
  ['fits2', ['h.fits2', '2 * n <= 512 and (2 + kx - 1) * inRows <= 1152']],
  ['u', ['h.u', 'fits8 ? 8 : (fits4 ? 4 : (fits2 ? 2 : 1))']],
  ['lat', ['latency', '(n >= 1) * 8 * cin * kx * ky + ceil(n / 512) * ceil(cin / 128) * h * w / u * 18.2']],
  ['dig', ['latency', 'ceil(n / groups / 16) * cin * ceil(h / 16) * w * kx * ky + (n >= 1) * h * w * (n + cin) / 8']],
  ['misc', ['misc', '-n + abs(kx - 5) ^ 2 - floor(h / 3) + round(w / 7) + min(cin, 9, n) + (groups != 1) + (n < 4 or h > 5)']],
]);

function randomScope(rng: Rng): Record<GeometryVar, number> {
  const pick = (xs: number[]) => xs[Math.floor(rng.next() * xs.length)]!;
  return {
    cin: pick([1, 3, 16, 64, 100, 128, 300]), cout: 64, n: pick([0, 1, 2, 15, 16, 17, 64, 130, 257, 600]),
    kx: pick([1, 3, 5]), ky: pick([1, 3, 5]), h: pick([1, 7, 16, 32]), w: pick([1, 8, 32]), stride: pick([1, 2]),
    groups: pick([1, 2]),
  };
}

describe('cost expressions', () => {
  it('evaluate like mathjs itself on random geometries (helpers, ternaries, booleans as numbers)', () => {
    const set = new ExprSet(ANALOG);
    const rng = new Rng(7);
    for (let k = 0; k < 300; k++) {
      const scope: Record<string, unknown> = { ...randomScope(rng) };
      // mathjs evaluates helpers in order into the scope: an independent evaluator.
      for (const [name, [, src]] of ANALOG) scope[name] = evaluate(src, scope);
      for (const name of ['u', 'lat', 'dig', 'misc']) {
        const ours = set.value(name, numberOps(scope as Record<GeometryVar, number>));
        expect(ours).toBeCloseTo(Number(scope[name]), 9);
      }
    }
  });

  it('knows which expressions depend on n (directly or through helpers)', () => {
    const set = new ExprSet(ANALOG);
    expect(set.dependsOnN('inRows')).toBe(false);
    expect(set.dependsOnN('u')).toBe(true);
    expect(set.dependsOnN('lat')).toBe(true);
  });

  it.each([
    ['foo * n', /unknown variable 'foo'/],
    ['sin(n)', /unknown function 'sin'/],
    ['max(n)', /wrong number of arguments to max/],
    ['a = 3', /not allowed/],
    ['[1, 2]', /not allowed/],
    ['n +', /cannot parse/],
    ['n mod 3', /operator 'mod' is not supported/],
  ])('rejects %s with the expression path', (src, msg) => {
    let err: unknown;
    try { new ExprSet(new Map([['lat', ['cus[0].latency', src]]])); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ExprError);
    expect((err as ExprError).path).toBe('cus[0].latency');
    expect((err as ExprError).message).toMatch(msg);
  });

  it('rejects helper cycles and reserved names', () => {
    expect(() => new ExprSet(new Map([['a', ['h.a', 'b + 1']], ['b', ['h.b', 'a * 2']]]))).toThrow(/cycle: a -> b -> a/);
    expect(() => new ExprSet(new Map([['cin', ['h.cin', '3']]]))).toThrow(/reserved/);
  });
});
