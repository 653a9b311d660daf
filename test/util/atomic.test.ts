/** Streamed JSON: the same document JSON.stringify would write, for values of any size. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeJsonStreamAtomic } from '../../src/util/atomic.js';
import { tmpDir } from '../helpers/fake_cifar.js';

describe('writeJsonStreamAtomic', () => {
  it('parses to what JSON.stringify gives (nested objects, empty containers, nulls, undefined, strings with quotes)', async () => {
    const v = {
      a: 1, b: 'x"y\n', c: null, d: undefined, e: [], f: {}, g: [1, 2.5, -3e-9, NaN], h: [{ i: [true, false] }, 'z', null],
      j: { k: { l: [0.1, 0.2] } }, m: [undefined, 1],
    };
    const f = path.join(tmpDir(), 'a.json');
    await writeJsonStreamAtomic(f, v);
    expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual(JSON.parse(JSON.stringify(v)));
  });

  it('writes typed arrays as number arrays, in pieces (5M numbers), leaving no temp file', async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'big.json');
    const big = new Float32Array(5_000_000).map((_, i) => (i % 1000) / 8);
    await writeJsonStreamAtomic(f, { weights: big, n: big.length });
    const back = JSON.parse(readFileSync(f, 'utf8')) as { weights: number[]; n: number };
    expect(back.n).toBe(5_000_000);
    expect(back.weights.length).toBe(5_000_000);
    expect([back.weights[0], back.weights[999], back.weights[4_999_999]]).toEqual([0, 999 / 8, 999 / 8]);
    expect(readdirSync(dir)).toEqual(['big.json']);
  }, 60_000);
});
