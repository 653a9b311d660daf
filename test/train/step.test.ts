import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { forward } from '../../src/models/forward.js';
import { initParams, type ParamStore } from '../../src/models/params.js';
import { buildModel } from '../../src/models/zoo.js';
import { randomBatch } from '../../src/train/bench.js';
import { crossEntropy } from '../../src/train/loss.js';
import { Sgd } from '../../src/train/sgd.js';
import { NonFiniteLossError, trainStep } from '../../src/train/step.js';

/** Gradients of the full model loss on a backend, keyed by parameter name. */
async function gradsOn(backend: 'cpu' | 'wasm', model: string, batch = 4): Promise<Map<string, Float32Array>> {
  await initEngine(backend);
  const spec = buildModel(model);
  const params: ParamStore = initParams(spec, 11);
  const { x, y } = randomBatch(batch, 10, 12);
  const names = [...params.trainable.keys()];
  const { grads } = tf.variableGrads(() => crossEntropy(forward(spec, params, x, { training: true }), y),
    [...params.trainable.values()]);
  const out = new Map<string, Float32Array>();
  for (const n of names) out.set(n, grads[params.get(n).name].dataSync() as Float32Array);
  tf.dispose(Object.values(grads)); tf.dispose([x, y]); params.dispose();
  return out;
}

describe('a full training step', () => {
  afterAll(async () => { await initEngine('wasm'); });

  // MobileNetV1 is left out: 40 s on the CPU backend, and at batch 4 its 2x2-map BatchNorms
  // make the 28-layer comparison ill-conditioned; its layers are covered by tinycnn's
  // depthwise block and by the per-kernel tests.
  for (const model of ['tinycnn', 'resnet8']) {
    it(`${model}: every parameter gradient on wasm matches the CPU backend`, async () => {
      const cpu = await gradsOn('cpu', model);
      const wasm = await gradsOn('wasm', model);
      // A gradient that is analytically zero (e.g. tinycnn's pw3.gamma: a per-channel scale
      // that dw4's BatchNorm normalises away) is float noise on both backends; errors are
      // taken relative to at least 1e-3 of the largest gradient in the model.
      let global = 0;
      for (const ref of cpu.values()) for (const v of ref) global = Math.max(global, Math.abs(v));
      for (const [name, ref] of cpu) {
        const got = wasm.get(name)!;
        let diff = 0, scale = 0;
        for (let i = 0; i < ref.length; i++) { diff = Math.max(diff, Math.abs(ref[i] - got[i])); scale = Math.max(scale, Math.abs(ref[i])); }
        expect(diff / Math.max(scale, 1e-3 * global), name).toBeLessThan(2e-3);
      }
    });
  }
});

describe('BatchNorm gradient', () => {
  beforeAll(async () => { await initEngine('cpu'); });
  it('matches central finite differences', async () => {
    const { batchNormTrain } = await import('../../src/models/batchnorm.js');
    const x = tf.randomNormal([3, 4, 5, 2], 0.5, 2, 'float32', 1) as tf.Tensor4D;
    const g = tf.tensor1d([1.5, -0.7]), b = tf.tensor1d([0.1, 0.2]);
    const w = tf.randomNormal([3, 4, 5, 2], 0, 1, 'float32', 2);
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTrain(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5), w));
    const [dx, dg] = tf.grads((xx, gg, bb) => f(xx, gg, bb))([x, g, b]);
    const xv = x.arraySync() as number[][][][];
    const h = 1e-2;
    for (const [i, j, k, c] of [[0, 0, 0, 0], [2, 3, 4, 1], [1, 2, 1, 0]]) {
      const plus = structuredClone(xv), minus = structuredClone(xv);
      plus[i][j][k][c] += h; minus[i][j][k][c] -= h;
      const fd = (f(tf.tensor4d(plus), g, b).dataSync()[0] - f(tf.tensor4d(minus), g, b).dataSync()[0]) / (2 * h);
      expect((dx.arraySync() as number[][][][])[i][j][k][c]).toBeCloseTo(fd, 2);
    }
    const gp = tf.tensor1d([1.5 + h, -0.7]), gm = tf.tensor1d([1.5 - h, -0.7]);
    const fdg = (f(x, gp, b).dataSync()[0] - f(x, gm, b).dataSync()[0]) / (2 * h);
    expect(dg.dataSync()[0]).toBeCloseTo(fdg, 2);
  });
});

describe('training', () => {
  beforeAll(async () => { await initEngine('wasm'); });
  it('fits a fixed batch (loss falls) and is reproducible for a seed', () => {
    const run = () => {
      const spec = buildModel('tinycnn');
      const params = initParams(spec, 5);
      const opt = new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 0 });
      const { x, y } = randomBatch(16, 10, 6);
      const losses: number[] = [];
      for (let i = 0; i < 40; i++) losses.push(trainStep(spec, params, opt, x, y).loss);
      if (process.env.DEBUG_LOSS) console.log(losses.map((l) => l.toFixed(3)).join(' '));
      tf.dispose([x, y]); opt.dispose(); params.dispose();
      return losses;
    };
    const a = run(), b = run();
    expect(a[39]).toBeLessThan(0.5 * a[0]);
    expect(b).toEqual(a);
  });

  it('a NaN loss stops training with a clear error', () => {
    const spec = buildModel('tinycnn');
    const params = initParams(spec, 5);
    const opt = new Sgd({ lr: 0.01, momentum: 0, weightDecay: 0 });
    const { x, y } = randomBatch(8, 10, 6);
    const xs = x.dataSync().slice();
    xs[100] = NaN;
    const bad = tf.tensor4d(xs, x.shape);
    const before = params.get('conv1.w').dataSync().slice();
    expect(() => trainStep(spec, params, opt, bad, y)).toThrow(NonFiniteLossError);
    // The step is refused before the update: weights are unchanged.
    expect(params.get('conv1.w').dataSync()).toEqual(before);
    tf.dispose([x, y, bad]); opt.dispose(); params.dispose();
  });
});
