import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  biasQuant, initPow2Scale, initTernaryLogScale, pactQuant, pow2WeightQuant, ternaryWeightQuant,
} from '../../src/quant/quantizers.js';
import { useBackend } from '../helpers/backends.js';

beforeAll(async () => { await useBackend('wasm'); });

const arr = (t: tf.Tensor) => Array.from(t.dataSync());
/** Round half to even, as tf.round (and PyTorch) do. */
const roundEven = (v: number) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
const close = (a: number[], b: number[], eps = 1e-6) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, -Math.log10(eps)));
};

describe('PACT activation quantizer (7 bits)', () => {
  it('forward: power-of-two scale from the clip, floor, clamp', () => {
    // a = 6: 127/6 = 21.17 -> s = 16, a' = 127/16 = 7.9375
    const x = tf.tensor1d([-1, 0, 0.03, 0.0625, 1.0, 3.14159, 7.9, 8, 100]);
    const y = pactQuant(x, tf.scalar(6), 7);
    // floor(16*x)/16 inside [0, 7.9375]
    close(arr(y), [0, 0, 0, 0.0625, 1.0, 3.125, 7.875, 7.9375, 7.9375]);
    // a = 1 (network input): s = 64 (127/1 rounded down), a' = 127/64 = 1.984375
    close(arr(pactQuant(tf.tensor1d([0.5, 0.999, 1.5, 3]), tf.scalar(1), 7)), [0.5, 0.984375, 1.5, 1.984375]);
  });

  it('gradients: 1 inside (0, a\'), 0 outside; the clip gets the sum where x >= a\'', () => {
    const x = tf.tensor1d([-1, 0.5, 3, 7.9, 8, 100]);
    const a = tf.scalar(6);
    const dy = tf.tensor1d([1, 2, 3, 4, 5, 6]);
    const [gx, ga] = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => pactQuant(xx, aa, 7))([x, a], dy);
    close(arr(gx!), [0, 2, 3, 4, 0, 0]);
    close(arr(ga!), [5 + 6]);
  });
});

describe('8-bit power-of-two weight quantizer', () => {
  it('forward: S = 2^floor(log2 p), 127 levels per side, clamped', () => {
    // p = 0.7 -> S = 0.5; Q(w) = 0.5*round(127*clamp(w/0.5))/127
    const w = tf.tensor1d([0.1, -0.25, 0.5, 0.9, -2]);
    const q = pow2WeightQuant(w, tf.scalar(0.7), 8);
    // -0.25 -> 127*(-0.5) = -63.5 rounds (half to even) to -64
    const ref = [0.1, -0.25, 0.5, 0.9, -2].map((v) => 0.5 * roundEven(127 * Math.max(-1, Math.min(1, v / 0.5))) / 127);
    expect(ref[1]).toBeCloseTo(-0.5 * 64 / 127, 12);
    close(arr(q), ref);
    expect(ref[3]).toBe(0.5); // clipped
  });

  it('gradients: straight-through inside, LSQ-style scale gradient', () => {
    const w = tf.tensor1d([0.1, -0.25, 0.9, -2]);
    const p = tf.scalar(0.7);
    const [gw, gp] = tf.grads((ww: tf.Tensor, pp: tf.Tensor) => pow2WeightQuant(ww, pp, 8))([w, p], tf.ones([4]));
    close(arr(gw!), [1, 1, 0, 0]);
    // dQ/dS: inside round(127 w/S)/127 - w/S, clipped sign(w):
    // 0.1 -> 25/127 - 0.2; -0.25 -> -64/127 + 0.5; 0.9 -> +1; -2 -> -1
    const expected = (25 / 127 - 0.2) + (-64 / 127 + 0.5) + 1 + -1;
    close(arr(gp!), [expected]);
  });

  it('initial p is 2^floor(log2(2 max|W|))', () => {
    expect(initPow2Scale([0.1, -0.3, 0.2])).toBe(0.5); // 2*0.3 = 0.6 -> 0.5
    expect(initPow2Scale([1.2])).toBe(2);
  });
});

describe('ternary per-channel weight quantizer', () => {
  it('forward: values in {-S_c, 0, S_c} per output channel (last axis)', () => {
    // two output channels: S = [0.5, 2]
    const w = tf.tensor2d([[0.2, 0.9], [0.3, -1.2], [-0.7, 5]], [3, 2]);
    const q = pactFree(ternaryWeightQuant(w, tf.tensor1d([Math.log(0.5), Math.log(2)])));
    close(q, [0, 0, 0.5, -2, -0.5, 2]);
  });

  it('gradients: straight-through inside, scale gradient per channel (chain rule through exp)', () => {
    const w = tf.tensor2d([[0.2, 0.9], [0.3, -1.2], [-0.7, 5]], [3, 2]);
    const ls = tf.tensor1d([Math.log(0.5), Math.log(2)]);
    const [gw, gs] = tf.grads((ww: tf.Tensor, ss: tf.Tensor) => ternaryWeightQuant(ww, ss))([w, ls], tf.ones([3, 2]));
    close(arr(gw!), [1, 1, 1, 1, 0, 0]);
    // channel 0 (S = 0.5): 0.2 -> round(0.4)=0 - 0.4 = -0.4; 0.3 -> 1 - 0.6 = 0.4; -0.7 clipped -> -1; sum -1, times S = -0.5
    // channel 1 (S = 2): 0.9 -> 0 - 0.45; -1.2 -> -1 + 0.6 = -0.4; 5 clipped -> 1; sum 0.15, times S = 0.3
    close(arr(gs!), [-0.5, 0.3], 1e-5);
  });

  it('initial scale makes the three levels equiprobable for the He-normal sigma', () => {
    const sigma = Math.sqrt(2 / (16 * 9));
    const S = Math.exp(initTernaryLogScale(16, 3, 3));
    // P(|w| < S/2) for N(0, sigma^2) = erf(S/(2 sigma sqrt 2)); at S/(2 sigma) = 0.4305 it is 1/3
    expect(S / (2 * sigma)).toBeCloseTo(0.4305, 3);
  });
});

describe('16-bit bias quantizer', () => {
  it('rounds to a power-of-two grid covering max|b| and passes gradients straight through', () => {
    // max|b| = 3 -> S = 4, step 4/32767
    const b = tf.tensor1d([3, -1.00001, 0.5]);
    const step = 4 / 32767;
    close(arr(biasQuant(b, 16)), [3, -1.00001, 0.5].map((v) => Math.round(v / step) * step), 1e-6);
    const g = tf.grad((bb: tf.Tensor) => biasQuant(bb, 16))(b, tf.tensor1d([1, 2, 3]));
    close(arr(g), [1, 2, 3]);
  });
});

function pactFree(t: tf.Tensor): number[] { return arr(t); }
