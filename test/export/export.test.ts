import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { exportJson } from '../../src/export/json.js';
import { exportTfjs, loadExportedGraphModel } from '../../src/export/tfjs.js';
import { countCorrect } from '../../src/train/loss.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

let dataRoot = '', runDir = '';
beforeAll(async () => {
  await initEngine('wasm');
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 80);
  runDir = path.join(tmpDir(), 'run');
  const r = await cli('train', '--platform', 'diana', '--model', 'tinycnn', '--data', dataRoot, '--batch', '32', '--val-size', '80',
    '--epochs-warmup', '1', '--epochs-search', '2', '--epochs-finetune', '1', '--lr-alpha', '0.05', '--lambda', '2', '--target', 'energy', '--out', runDir);
  expect(r.code).toBe(0);
}, 120_000);

describe('hetsplit export', () => {
  it('tfjs: a graph model that reproduces the run exactly (logits and test accuracy)', async () => {
    const out = path.join(tmpDir(), 'tfjs');
    const r = await cli('export', runDir, '--format', 'tfjs', '--out', out);
    expect(r.code).toBe(0);
    const gm = await loadExportedGraphModel(out);
    const run = await loadRun(runDir);
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const all = Int32Array.from({ length: data.test.n }, (_, i) => i);
    let correct = 0, maxDiff = 0;
    for (const b of epochBatches(data.test, all, { batchSize: 256, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      const logits = gm.execute(b.x) as tf.Tensor2D;
      const ours = tf.tidy(() => run.model.forward(b.x, 1).logits);
      maxDiff = Math.max(maxDiff, tf.max(tf.abs(tf.sub(logits, ours))).dataSync()[0]!);
      correct += countCorrect(logits, b.y);
      tf.dispose([logits, ours, b.x, b.y]);
    }
    expect(maxDiff).toBeLessThan(1e-5);
    expect(correct / data.test.n).toBe(run.metrics.testAccuracy);
    run.model.dispose(); gm.dispose();
  });

  it('json: integer weights per CU that dequantize to the weights the network computes with', async () => {
    const out = path.join(tmpDir(), 'json');
    expect((await cli('export', runDir, '--format', 'json', '--out', out)).code).toBe(0);
    const j = JSON.parse(readFileSync(path.join(out, 'mapped-network.json'), 'utf8'));
    const run = await loadRun(runDir);
    expect(j.layers).toHaveLength(run.spec.layers.length);
    j.layers.forEach((l: { name: string; kind: string; cout: number; parts: { cu: string; channels: number[]; weights: { format: string; scale?: number; scalePerChannel?: number[]; shape: number[]; values: number[] } }[] }, k: number) => {
      const seen = l.parts.flatMap((p) => p.channels).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: l.cout }, (_, i) => i));
      const m = run.model.materialise(k);
      const w = (l.kind === 'fc' ? tf.reshape(m.w, [-1, l.cout]) : m.w);
      const ref = w.arraySync() as unknown;
      for (const p of l.parts) {
        const { format, values, shape } = p.weights;
        if (format === 'int8') values.forEach((v) => expect(Number.isInteger(v) && Math.abs(v) <= 127).toBe(true));
        if (format === 'ternary') values.forEach((v) => expect([-1, 0, 1]).toContain(v));
        // dequantize the part and compare with the mixed weights of its channels
        const n = p.channels.length;
        values.forEach((v, i) => {
          const chIdx = i % n; // channels are the last axis of every layout but depthwise
          const ch = p.channels[l.kind === 'depthwise' ? Math.floor(i / 1) % n : chIdx]!;
          const scale = format === 'ternary' ? p.weights.scalePerChannel![chIdx]! : p.weights.scale!;
          const idx = unravel(i, shape);
          idx[l.kind === 'depthwise' ? 2 : shape.length - 1] = ch;
          expect(v * scale).toBeCloseTo(pick(ref, idx), 5);
        });
      }
      tf.dispose([m.w, m.b, w]);
    });
    run.model.dispose();
  });
});

function unravel(i: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]!; i = Math.floor(i / shape[d]!); }
  return idx;
}
function pick(a: unknown, idx: number[]): number {
  let x = a;
  for (const i of idx) x = (x as unknown[])[i];
  return x as number;
}

describe('CUs with different input formats (diana-riscv: 7-bit digital/analog, 8-bit riscv)', () => {
  it('trains end to end with every CU able to take channels, and the tfjs export reproduces it', async () => {
    const dir = path.join(tmpDir(), 'riscv');
    const r = await cli('train', '--platform', 'diana-riscv', '--model', 'tinycnn', '--data', dataRoot, '--batch', '32', '--val-size', '80',
      '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '1', '--warm-start', 'even', '--relaxation', 'soft', '--lambda', '0', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = await loadRun(dir);
    // the layers where all three CUs may run have one input quantizer per format
    const groups = run.spec.layers.map((_, k) => run.model.inputGroups(k));
    expect(groups.some((g) => g.length === 2 && g.map((x) => x.bits).sort().join() === '7,8')).toBe(true);
    const out = path.join(tmpDir(), 'tfjs-riscv');
    expect((await cli('export', dir, '--format', 'tfjs', '--out', out)).code).toBe(0);
    const gm = await loadExportedGraphModel(out);
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const all = Int32Array.from({ length: data.test.n }, (_, i) => i);
    let correct = 0, maxDiff = 0;
    for (const b of epochBatches(data.test, all, { batchSize: 256, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
      const logits = gm.execute(b.x) as tf.Tensor2D;
      const ours = tf.tidy(() => run.model.forward(b.x, 1).logits);
      maxDiff = Math.max(maxDiff, tf.max(tf.abs(tf.sub(logits, ours))).dataSync()[0]!);
      correct += countCorrect(logits, b.y);
      tf.dispose([logits, ours, b.x, b.y]);
    }
    expect(maxDiff).toBeLessThan(1e-4);
    expect(correct / data.test.n).toBe(run.metrics.testAccuracy);
    // json: each part says which input quantizer it reads
    const jo = path.join(tmpDir(), 'json-riscv');
    expect((await cli('export', dir, '--format', 'json', '--out', jo)).code).toBe(0);
    const j = JSON.parse(readFileSync(path.join(jo, 'mapped-network.json'), 'utf8'));
    for (const l of j.layers) for (const p of l.parts) expect(p.inputQuantizer === null || p.inputQuantizer.bits === (p.cu === 'riscv' ? 8 : 7)).toBe(true);
    run.model.dispose(); gm.dispose();
  }, 120_000);
});

describe('Darkside (float CUs, conv-vs-depthwise layers)', () => {
  it('exporting leaves the run usable (a float CU\'s weights are the variables themselves) and the graph model reproduces it', async () => {
    const dir = path.join(tmpDir(), 'dk');
    const r = await cli('train', '--platform', 'darkside', '--model', 'tinycnn', '--data', dataRoot, '--batch', '32', '--val-size', '80',
      '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '0', '--out', dir);
    expect(r.code, r.stderr).toBe(0);
    const run = await loadRun(dir);
    const out = path.join(tmpDir(), 'tfjs-dk');
    await exportTfjs(run, out);
    await exportJson(run, path.join(out, 'mapped-network.json'));
    const gm = await loadExportedGraphModel(out);
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const ours = tf.tidy(() => run.model.forward(x, 1).logits); // would throw on a disposed variable
    const theirs = gm.execute(x) as tf.Tensor;
    expect(tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]!).toBeLessThan(1e-4);
    tf.dispose([x, ours, theirs]);
    run.model.dispose(); gm.dispose();
  }, 60_000);
});
