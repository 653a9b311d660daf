import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { forward } from '../../src/models/forward.js';
import { initParams } from '../../src/models/params.js';
import { buildModel } from '../../src/models/zoo.js';
import { foldBatchNorm } from '../../src/search/model.js';

beforeAll(async () => { await initEngine('wasm'); });

describe('BatchNorm folding', () => {
  it('conv(x, W\') + b\' equals the float layer with BatchNorm in inference mode (conv and depthwise)', () => {
    const spec = buildModel('tinycnn');
    const p = initParams(spec, 9);
    // non-trivial BN parameters and running statistics
    let seed = 1;
    for (const [name, v] of [...p.trainable, ...p.state]) {
      if (/\.(gamma|beta|mean|var)$/.test(name)) {
        const r = tf.randomUniform(v.shape, 0.5, 1.5, 'float32', seed++);
        v.assign(name.endsWith('.beta') || name.endsWith('.mean') ? tf.sub(r, 1) : r);
        r.dispose();
      }
    }
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    for (const name of ['conv1', 'dw3']) {
      const l = spec.layers.find((q) => q.name === name)!;
      const input = name === 'conv1' ? x : tf.randomUniform([2, l.inH, l.inW, l.cin], 0, 1, 'float32', 5) as tf.Tensor4D;
      const { w, b } = foldBatchNorm(l, p);
      const folded = tf.relu(tf.add(l.kind === 'depthwise'
        ? tf.depthwiseConv2d(input, w as tf.Tensor4D, l.stride, l.pad)
        : tf.conv2d(input, w as tf.Tensor4D, l.stride, l.pad), b));
      const raw = l.kind === 'depthwise'
        ? tf.depthwiseConv2d(input, p.get(`${name}.w`) as tf.Tensor4D, l.stride, l.pad)
        : tf.conv2d(input, p.get(`${name}.w`) as tf.Tensor4D, l.stride, l.pad);
      const ref = tf.relu(tf.batchNorm(raw, p.get(`${name}.mean`) as tf.Tensor1D, p.get(`${name}.var`) as tf.Tensor1D,
        p.get(`${name}.beta`) as tf.Tensor1D, p.get(`${name}.gamma`) as tf.Tensor1D, 1e-5));
      const err = tf.max(tf.abs(tf.sub(folded, ref))).dataSync()[0]!;
      const scale = tf.max(tf.abs(ref)).dataSync()[0]!;
      expect(scale).toBeGreaterThan(0.1);
      expect(err / scale).toBeLessThan(1e-5);
    }
    // and the whole float network still evaluates (inference mode uses the same statistics)
    const logits = forward(spec, p, x, { training: false });
    expect(logits.shape).toEqual([2, 10]);
    p.dispose();
  });
});
