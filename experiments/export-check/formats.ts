/**
 * Every export format of finished runs against the run itself, with real clients:
 * ONNX through onnxruntime-node, the TF.js graph model through stock tfjs
 * (loadExportedGraphModel), the JSON written (size, time; its weights are checked against
 * the run in test/export). On the first N test records (genuine pixels first).
 *   npx vite-node experiments/export-check/formats.ts OUT.json N RUN_DIR...
 */
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { exportJson } from '../../src/export/json.js';
import { loadRun } from '../../src/export/load.js';
import { exportOnnx } from '../../src/export/onnx.js';
import { exportTfjs, loadExportedGraphModel } from '../../src/export/tfjs.js';

const [outFile, nArg, ...dirs] = process.argv.slice(2);
const N = Number(nArg);
const data = await locateCifar({ dataset: 'cifar10', data: '../shared/datasets/cifar-10-jpeg-derived-binary.tar.gz' });
const engine = await initEngine('wasm');
const idx = Int32Array.from({ length: Math.min(N, data.test.n) }, (_, k) => k);
const results = [];
for (const d of dirs) {
  const dir = path.resolve(d);
  const run = await loadRun(dir);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hetsplit-formats-'));
  const t0 = performance.now();
  await exportJson(run, path.join(tmp, 'mapped-network.json'));
  const jsonSeconds = (performance.now() - t0) / 1000;
  await exportOnnx(run, path.join(tmp, 'model.onnx'));
  const tf1 = await exportTfjs(run, path.join(tmp, 'tfjs'));
  const session = await ort.InferenceSession.create(path.join(tmp, 'model.onnx'), { intraOpNumThreads: engine.threads });
  const gm = await loadExportedGraphModel(path.join(tmp, 'tfjs'));
  const n = run.spec.numClasses;
  const argmax = (a: Float32Array | Int32Array | Uint8Array, r: number) => { let k = 0; for (let j = 1; j < n; j++) if (a[r * n + j]! > a[r * n + k]!) k = j; return k; };
  const stat = { onnx: { agree: 0, worst: 0 }, tfjs: { agree: 0, worst: 0 }, runCorrect: 0 };
  for (const b of epochBatches(data.test, idx, { batchSize: 128, shuffle: false, augment: false, norm: run.config.norm ?? 'unit', seed: 0, dropLast: false }, 0)) {
    const a = tf.tidy(() => run.model.forward(b.x).logits.dataSync() as Float32Array);
    const o = (await session.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, b.x.shape) })).logits!.data as Float32Array;
    const tl = gm.execute(b.x) as tf.Tensor;
    const t = tl.dataSync() as Float32Array;
    const y = b.y.dataSync();
    for (let r = 0; r < b.size; r++) {
      if (argmax(a, r) === y[r]) stat.runCorrect++;
      if (argmax(a, r) === argmax(o, r)) stat.onnx.agree++;
      if (argmax(a, r) === argmax(t, r)) stat.tfjs.agree++;
    }
    for (let k = 0; k < a.length; k++) {
      stat.onnx.worst = Math.max(stat.onnx.worst, Math.abs(a[k]! - o[k]!));
      stat.tfjs.worst = Math.max(stat.tfjs.worst, Math.abs(a[k]! - t[k]!));
    }
    tf.dispose([b.x, b.y, tl]);
  }
  const m = idx.length;
  results.push({
    run: dir, platform: run.platform.name, model: run.spec.name, records: m, runAccuracy: stat.runCorrect / m,
    onnx: { agreement: stat.onnx.agree / m, maxAbsLogitDifference: stat.onnx.worst, bytes: statSync(path.join(tmp, 'model.onnx')).size },
    tfjs: { agreement: stat.tfjs.agree / m, maxAbsLogitDifference: stat.tfjs.worst, bytes: statSync(tf1.weightsBin).size, nodes: tf1.nodes },
    json: { bytes: statSync(path.join(tmp, 'mapped-network.json')).size, seconds: jsonSeconds },
  });
  console.log(JSON.stringify(results[results.length - 1]));
  run.model.dispose();
  gm.dispose();
}
writeFileSync(outFile, JSON.stringify({ engine: engine.engine, threads: engine.threads, results }, null, 2) + '\n');
