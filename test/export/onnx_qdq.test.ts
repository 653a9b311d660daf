/**
 * `export --format onnx-qdq` against onnxruntime: with its graph optimisations the QDQ
 * pattern becomes integer convolutions (QLinearConv in the optimised model it writes), and
 * the predictions are the run's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

let dataRoot = '';
beforeAll(async () => {
  await initEngine('wasm');
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 64);
});

describe('hetsplit export --format onnx-qdq', () => {
  it.each([['diana', 'resnet8'], ['darkside', 'tinycnn'], ['diana-riscv', 'tinycnn']])('%s/%s: onnxruntime fuses the integer parts into QLinearConv and predicts as the run', async (platform, model) => {
    const dir = path.join(tmpDir(), 'run');
    const t = await cli('train', '--platform', platform, '--model', model, '--data', dataRoot, '--batch', '32', '--val-size', '64',
      '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '1', '--lr-alpha', '0.2', '--lambda', '1', '--out', dir);
    expect(t.code, t.stderr).toBe(0);
    const out = path.join(tmpDir(), 'qdq');
    const e = await cli('export', dir, '--format', 'onnx-qdq', '--out', out);
    expect(e.code, e.stderr).toBe(0);
    const integer = Number(/(\d+) per-CU convolutions in integer QDQ form/.exec(e.stdout)![1]);
    const file = path.join(out, 'model-qdq.onnx');
    const optimized = path.join(tmpDir(), 'optimized.onnx');
    const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized });
    const ops = onnxProto.onnx.ModelProto.decode(readFileSync(optimized)).graph!.node!.map((n) => n.opType);
    // Every part announced as integer became a QLinearConv. DIANA's ResNet8 has them (each
    // block's first conv feeds only the second's quantizer); Darkside's CUs compute in float,
    // and on diana-riscv/tinycnn every quantized output feeds two input formats or an add.
    expect(ops.filter((o) => o === 'QLinearConv').length).toBe(integer);
    if (platform === 'diana') expect(integer).toBeGreaterThan(0);
    const run = await loadRun(dir);
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const idx = Int32Array.from({ length: data.test.n }, (_, i) => i);
    let agree = 0;
    for (const b of epochBatches(data.test, idx, { batchSize: 64, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      const res = await session.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, b.x.shape) });
      const theirs = tf.tensor2d(res.logits!.data as Float32Array, [b.x.shape[0], 10]);
      tf.tidy(() => {
        const ours = run.model.forward(b.x, 1).logits;
        agree += tf.sum(tf.cast(tf.equal(tf.argMax(theirs, 1), tf.argMax(ours, 1)), 'int32')).dataSync()[0]!;
      });
      tf.dispose([theirs, b.x, b.y]);
    }
    // Without integer parts the graph computes what `--format onnx` does (quantizers in the
    // run's floor form, then an exact QuantizeLinear): the same predictions. Integer parts
    // differ by whole activation steps where the int32 bias (on the accumulator scale) moves
    // a value across a quantizer boundary (ResNet20 on DIANA: 98.8-99.4% of predictions).
    if (integer === 0) expect(agree).toBe(data.test.n);
    else expect(agree / data.test.n).toBeGreaterThanOrEqual(0.95);
    run.model.dispose();
  }, 180_000);
});
