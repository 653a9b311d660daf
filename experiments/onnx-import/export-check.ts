/**
 * A searched run of the imported ResNet20, exported to ONNX and run by onnxruntime-node,
 * against the run itself (our engine) on the whole test set: prediction agreement, both
 * accuracies, logit differences.
 *   npx vite-node experiments/onnx-import/export-check.ts RUN_DIR [data]
 * Writes RUN_DIR/../export-check-<run>.json next to the run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { loadRun } from '../../src/export/load.js';
import { exportOnnx } from '../../src/export/onnx.js';

const dir = path.resolve(process.argv[2]!);
const data = await locateCifar({ dataset: 'cifar10', data: process.argv[3] ?? '../shared/datasets/cifar-10-jpeg-derived-binary.tar.gz' });
const engine = await initEngine('wasm');
const run = await loadRun(dir);
const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetsplit-export-')), 'model.onnx');
const ex = await exportOnnx(run, file);
const session = await ort.InferenceSession.create(file, { intraOpNumThreads: engine.threads });
const argmax = (a: Float32Array, r: number) => { let k = 0; for (let j = 1; j < 10; j++) if (a[r * 10 + j]! > a[r * 10 + k]!) k = j; return k; };
let agree = 0, ours = 0, theirs = 0, worst = 0, sum = 0, count = 0, i = 0;
for (const b of epochBatches(data.test, Int32Array.from({ length: data.test.n }, (_, k) => k), { batchSize: 250, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
  const a = tf.tidy(() => run.model.forward(b.x).logits.dataSync() as Float32Array);
  const o = (await session.run({ input: new ort.Tensor('float32', b.x.dataSync() as Float32Array, [b.size, 32, 32, 3]) })).logits!.data as Float32Array;
  const y = b.y.dataSync();
  for (let r = 0; r < b.size; r++, i++) {
    if (argmax(a, r) === argmax(o, r)) agree++;
    if (argmax(a, r) === y[r]) ours++;
    if (argmax(o, r) === y[r]) theirs++;
  }
  for (let k = 0; k < a.length; k++) { const d = Math.abs(a[k]! - o[k]!); worst = Math.max(worst, d); sum += d; count++; }
  tf.dispose([b.x, b.y]);
}
const n = data.test.n;
const result = {
  run: dir, nodes: ex.nodes, records: n, agreement: agree / n, runAccuracy: ours / n, onnxruntimeAccuracy: theirs / n,
  metricsTestAccuracy: run.metrics.testAccuracy, maxAbsLogitDifference: worst, meanAbsLogitDifference: sum / count,
};
console.log(JSON.stringify(result, null, 2));
writeFileSync(path.join(path.dirname(dir), `export-check-${path.basename(dir)}.json`), JSON.stringify(result, null, 2) + '\n');
run.model.dispose();
