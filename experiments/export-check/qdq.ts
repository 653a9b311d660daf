/**
 * The QDQ export (`export --format onnx-qdq`) of finished runs against the run itself:
 * onnxruntime-node with its graph optimisations ('extended': QDQ fusion) runs the model, its
 * optimised graph is written (optimizedModelFilePath) and its operators counted (the integer
 * convolutions are QLinearConv), and predictions are compared with the run's own forward
 * pass on the first N test records (the first 1,017 are the genuine ones).
 *   npx vite-node experiments/export-check/qdq.ts OUT.json N RUN_DIR...
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { exportOnnxQdq } from '../../src/export/onnx_qdq.js';

const [outFile, nArg, ...dirs] = process.argv.slice(2);
const N = Number(nArg);
const data = await locateCifar({ dataset: 'cifar10', data: '../shared/datasets/cifar-10-jpeg-derived-binary.tar.gz' });
const engine = await initEngine('wasm');
const idx = Int32Array.from({ length: Math.min(N, data.test.n) }, (_, k) => k);
const results = [];
for (const d of dirs) {
  const dir = path.resolve(d);
  const run = await loadRun(dir);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hetsplit-qdq-'));
  const file = path.join(tmp, 'model-qdq.onnx');
  const written = await exportOnnxQdq(run, file);
  const optimized = path.join(tmp, 'optimized.onnx');
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: engine.threads, graphOptimizationLevel: 'extended', optimizedModelFilePath: optimized,
  });
  // The same graph without any optimisation: the QDQ operators' reference semantics.
  const plain = await ort.InferenceSession.create(file, { intraOpNumThreads: engine.threads, graphOptimizationLevel: 'disabled' });
  const ops: Record<string, number> = {};
  for (const node of onnxProto.onnx.ModelProto.decode(readFileSync(optimized)).graph!.node!) ops[node.opType!] = (ops[node.opType!] ?? 0) + 1;
  const n = run.spec.numClasses;
  const argmax = (a: Float32Array, r: number) => { let k = 0; for (let j = 1; j < n; j++) if (a[r * n + j]! > a[r * n + k]!) k = j; return k; };
  let agree = 0, agreePlain = 0, runCorrect = 0, qdqCorrect = 0, worst = 0;
  for (const b of epochBatches(data.test, idx, { batchSize: 128, shuffle: false, augment: false, norm: run.config.norm ?? 'unit', seed: 0, dropLast: false }, 0)) {
    const a = tf.tidy(() => run.model.forward(b.x).logits.dataSync() as Float32Array);
    const o = (await session.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, b.x.shape) })).logits!.data as Float32Array;
    const p = (await plain.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, b.x.shape) })).logits!.data as Float32Array;
    const y = b.y.dataSync();
    for (let r = 0; r < b.size; r++) {
      if (argmax(a, r) === argmax(p, r)) agreePlain++;
      if (argmax(a, r) === y[r]) runCorrect++;
      if (argmax(o, r) === y[r]) qdqCorrect++;
      if (argmax(a, r) === argmax(o, r)) agree++;
    }
    for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - o[k]!));
    tf.dispose([b.x, b.y]);
  }
  const m = idx.length;
  const r = {
    run: dir, platform: run.platform.name, model: run.spec.name, records: m,
    runAccuracy: runCorrect / m, qdqAccuracy: qdqCorrect / m, agreement: agree / m, agreementUnoptimized: agreePlain / m, maxAbsLogitDiff: worst,
    integerConvs: written.integerConvs, floatConvs: written.floatConvs, optimizedOps: ops,
  };
  results.push(r);
  console.log(JSON.stringify(r));
  run.model.dispose();
}
writeFileSync(outFile, `${JSON.stringify({ date: new Date().toISOString(), engine, results }, null, 2)}\n`);
