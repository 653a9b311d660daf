/** Content-keyed results: the digest's framing and the kept results' isolation. */
import { describe, expect, it } from 'vitest';
import { digest, LastResults } from '../../src/util/memo.js';

describe('digest', () => {
  it('is equal for equal parts and differs when any byte, the framing or the kind of part differs', () => {
    const a = new Float32Array([1, 2, 3]);
    expect(digest(['x', a, 3])).toBe(digest(['x', new Float32Array([1, 2, 3]), 3]));
    expect(digest(['x', a])).not.toBe(digest(['x', new Float32Array([1, 2, 3.0000002])]));
    expect(digest(['ab', 'c'])).not.toBe(digest(['a', 'bc'])); // length-prefixed: no collision by concatenation
    expect(digest(['1'])).not.toBe(digest([1]));
    expect(digest([new Float32Array([1, 2])])).not.toBe(digest([new Float32Array([1]), new Float32Array([2])]));
    // a view hashes its own bytes, not its whole buffer
    const big = new Float32Array([9, 1, 2, 9]);
    expect(digest([big.subarray(1, 3)])).toBe(digest([new Float32Array([1, 2])]));
    expect(digest([])).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('LastResults', () => {
  it('computes once per key, keeps the last `size` keys, and hands out copies', () => {
    const memo = new LastResults<{ v: Float32Array; m: Map<number, number[]> }>(2);
    let calls = 0;
    const make = (k: number) => () => { calls++; return { v: new Float32Array([k, k + 1]), m: new Map([[k, [k]]]) }; };
    const a = memo.get('a', make(1));
    expect(a.reused).toBe(false);
    const a2 = memo.get('a', make(99));
    expect(a2.reused).toBe(true);
    expect(calls).toBe(1);
    expect(Array.from(a2.value.v)).toEqual([1, 2]);
    expect(a2.value.m.get(1)).toEqual([1]);
    // changing a copy changes neither the kept result nor the first caller's
    a2.value.v[0] = 42;
    a2.value.m.get(1)!.push(7);
    expect(Array.from(memo.get('a', make(99)).value.v)).toEqual([1, 2]);
    expect(memo.get('a', make(99)).value.m.get(1)).toEqual([1]);
    expect(a.value.v[0]).toBe(1);
    memo.get('b', make(2));
    memo.get('a', make(99)); // 'a' most recent again
    memo.get('c', make(3)); // evicts 'b'
    expect(calls).toBe(3);
    expect(memo.get('a', make(99)).reused).toBe(true);
    expect(memo.get('b', make(2)).reused).toBe(false);
    expect(calls).toBe(4);
    memo.clear();
    expect(memo.get('a', make(1)).reused).toBe(false);
    expect(() => new LastResults(0)).toThrow(/size/);
  });

  it('keeps nothing when the computation throws', () => {
    const memo = new LastResults<number>();
    expect(() => memo.get('k', () => { throw new Error('boom'); })).toThrow('boom');
    expect(memo.get('k', () => 5)).toEqual({ value: 5, reused: false });
  });
});
