import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { randomBatch } from '../../src/train/bench.js';
import { initParams } from '../../src/models/params.js';
import { buildModel } from '../../src/models/zoo.js';
import { Sgd } from '../../src/train/sgd.js';
import { trainStep } from '../../src/train/step.js';

beforeAll(async () => { await initEngine('wasm'); });

describe('training loop memory', () => {
  it('keeps tf.memory().numTensors (and WASM data ids) constant over 50 steps', () => {
    const spec = buildModel('tinycnn');
    const params = initParams(spec, 3);
    const opt = new Sgd({ lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    const { x, y } = randomBatch(8, 10, 4);
    trainStep(spec, params, opt, x, y); // creates the momentum buffers
    const tensors = tf.memory().numTensors;
    const dataIds = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    for (let i = 0; i < 50; i++) trainStep(spec, params, opt, x, y);
    expect(tf.memory().numTensors).toBe(tensors);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataIds);
    tf.dispose([x, y]); opt.dispose(); params.dispose();
  });
});
