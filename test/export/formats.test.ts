/**
 * Every weight format the platform schema accepts exports exactly: a CU with 2-, 4-, 8-,
 * 16-bit, ternary or float weights, its network trained (tiny), exported to ONNX and run
 * by onnxruntime: the same predictions as the run, logits to float rounding; the same in
 * QDQ form; the JSON export's integers within the format's range.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

const DIANA = JSON.parse(readFileSync(fileURLToPath(new URL('../../platforms/diana.json', import.meta.url)), 'utf8'));
let dataRoot = '';
beforeAll(async () => {
  await initEngine('wasm');
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 64);
});

describe('every weight format exports exactly (onnxruntime)', () => {
  it.each([[2], [4], [8], [16], ['ternary'], ['float']] as const)('a CU with %s weights', async (format) => {
    const root = tmpDir();
    const pf = path.join(root, 'soc.json');
    // DIANA with the digital CU's weight format replaced; every channel mapped to it
    writeFileSync(pf, JSON.stringify({ ...DIANA, name: `soc-${format}`, cus: DIANA.cus.map((c: { name: string }) => (c.name === 'digital' ? { ...c, weights: format } : c)) }));
    const dir = path.join(root, 'run');
    const t = await cli('train', '--platform', pf, '--model', 'tinycnn', '--data', dataRoot, '--batch', '32', '--val-size', '64',
      '--epochs-warmup', '1', '--epochs-search', '0', '--epochs-finetune', '1', '--mapping', 'all:digital', '--lambda', '0', '--out', dir);
    expect(t.code, t.stderr).toBe(0);
    const out = path.join(root, 'onnx');
    expect((await cli('export', dir, '--format', 'onnx', '--out', out)).code).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(path.join(out, 'model.onnx')));
    const run = await loadRun(dir);
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const idx = Int32Array.from({ length: data.test.n }, (_, i) => i);
    let agree = 0;
    const rows: number[] = [];
    for (const b of epochBatches(data.test, idx, { batchSize: 64, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      const x = b.x.dataSync() as Float32Array;
      const res = await session.run({ input: new ort.Tensor('float32', x, b.x.shape) });
      const theirs = tf.tensor2d(res.logits!.data as Float32Array, [b.x.shape[0], 10]);
      tf.tidy(() => {
        const ours = run.model.forward(b.x, 1).logits;
        const scaleOf = Math.max(1e-6, tf.max(tf.abs(ours)).dataSync()[0]!);
        rows.push(...Array.from(tf.max(tf.abs(tf.sub(theirs, ours)), 1).dataSync(), (v) => v / scaleOf));
        agree += tf.sum(tf.cast(tf.equal(tf.argMax(theirs, 1), tf.argMax(ours, 1)), 'int32')).dataSync()[0]!;
      });
      tf.dispose([theirs, b.x, b.y]);
    }
    // Most rows agree to float rounding. A few may differ by one activation-quantizer step:
    // floor(x·s) flips when onnxruntime's and TF.js's convolutions (summing in different
    // orders) put x·s on either side of an integer (measured: 0 of 64 rows at 2, 8, 16 bits,
    // ternary and float; 7 of 64 at 4 bits, one step of 1/32 each).
    rows.sort((a, b) => a - b);
    const exact = rows.filter((v) => v < 1e-4).length;
    expect(exact / rows.length).toBeGreaterThanOrEqual(0.85);
    expect(rows[Math.floor(rows.length / 2)]!).toBeLessThan(1e-5);
    expect(agree / data.test.n).toBeGreaterThanOrEqual(0.95);
    // QDQ form: onnxruntime with its QDQ fusion, the same predictions
    const qo = path.join(root, 'qdq');
    expect((await cli('export', dir, '--format', 'onnx-qdq', '--out', qo)).code).toBe(0);
    const qdq = await ort.InferenceSession.create(readFileSync(path.join(qo, 'model-qdq.onnx')), { graphOptimizationLevel: 'extended' });
    let agreeQdq = 0;
    for (const b of epochBatches(data.test, idx, { batchSize: 64, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      const res = await qdq.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, b.x.shape) });
      const theirs = tf.tensor2d(res.logits!.data as Float32Array, [b.x.shape[0], 10]);
      agreeQdq += tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(theirs, 1), tf.argMax(run.model.forward(b.x, 1).logits, 1)), 'int32')).dataSync()[0]!);
      tf.dispose([theirs, b.x, b.y]);
    }
    expect(agreeQdq / data.test.n).toBeGreaterThanOrEqual(0.95);
    // JSON: integers in the format's range
    const jo = path.join(root, 'json');
    expect((await cli('export', dir, '--format', 'json', '--out', jo)).code).toBe(0);
    const j = JSON.parse(readFileSync(path.join(jo, 'mapped-network.json'), 'utf8'));
    const limit = typeof format === 'number' ? 2 ** (format - 1) - 1 : format === 'ternary' ? 1 : Infinity;
    for (const l of j.layers) {
      for (const p of l.parts.filter((q: { cu: string }) => q.cu === 'digital')) {
        expect(p.weights.format).toBe(typeof format === 'number' ? `int${format}` : format === 'float' ? 'float32' : 'ternary');
        if (limit !== Infinity) for (const v of p.weights.values) expect(Number.isInteger(v) && Math.abs(v) <= limit).toBe(true);
      }
    }
    // wider than 8 bits: int32 storage actually uses the range int8 would have wrapped
    if (format === 16) expect(j.layers.some((l: { parts: { weights: { values: number[] } }[] }) => l.parts.some((p) => p.weights.values.some((v) => Math.abs(v) > 127)))).toBe(true);
    run.model.dispose();
  }, 60_000);
});
