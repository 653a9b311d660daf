/**
 * The ONNX import of the reference's float ResNet20 against onnxruntime-node on the whole
 * CIFAR-10 test set: prediction agreement, both accuracies (all records and the genuine
 * ones), the largest logit difference, and how long the import and each evaluation take.
 *   npx vite-node experiments/onnx-import/check.ts [model.onnx] [data]
 * Writes experiments/onnx-import/check.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { describeEngine, initEngine } from '../../src/backend/engine.js';
import { locateCifar } from '../../src/data/locate.js';
import { epochBatches } from '../../src/data/pipeline.js';
import { forward } from '../../src/models/forward.js';
import { importOnnx } from '../../src/models/onnx_import.js';
import { importedParams } from '../../src/train/imported.js';

const file = process.argv[2] ?? '../shared/models/resnet20-odimo-fp.onnx';
const dataPath = process.argv[3] ?? '../shared/datasets/cifar-10-jpeg-derived-binary.tar.gz';
const engine = await initEngine('wasm');
console.log(describeEngine(engine));
const data = await locateCifar({ dataset: 'cifar10', data: dataPath });
const bytes = readFileSync(file);
let t = performance.now();
const im = importOnnx(bytes, file, { inputNonNegative: true, name: path.basename(file, '.onnx') });
const params = importedParams(im);
const importSeconds = (performance.now() - t) / 1000;
const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: engine.threads });
const n = data.test.n, g = data.genuineTestRecords ?? 0;
const argmax = (a: Float32Array, r: number) => { let k = 0; for (let j = 1; j < 10; j++) if (a[r * 10 + j]! > a[r * 10 + k]!) k = j; return k; };
let agree = 0, oursRight = 0, ortRight = 0, oursG = 0, ortG = 0, worst = 0, oursS = 0, ortS = 0, i = 0;
for (const b of epochBatches(data.test, Int32Array.from({ length: n }, (_, k) => k), { batchSize: 250, shuffle: false, augment: false, norm: 'unit', seed: 0, dropLast: false }, 0)) {
  t = performance.now();
  const ours = tf.tidy(() => forward(im.spec, params, b.x, { training: false }).dataSync() as Float32Array);
  oursS += (performance.now() - t) / 1000;
  const nchw = tf.tidy(() => tf.transpose(b.x, [0, 3, 1, 2]).dataSync() as Float32Array);
  t = performance.now();
  const ref = (await session.run({ input: new ort.Tensor('float32', nchw, [b.size, 3, 32, 32]) }))[session.outputNames[0]!]!.data as Float32Array;
  ortS += (performance.now() - t) / 1000;
  const labels = b.y.dataSync();
  for (let r = 0; r < b.size; r++, i++) {
    const a = argmax(ours, r), o = argmax(ref, r);
    if (a === o) agree++;
    if (a === labels[r]) { oursRight++; if (i < g) oursG++; }
    if (o === labels[r]) { ortRight++; if (i < g) ortG++; }
  }
  for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(ref[k]! - ours[k]!));
  tf.dispose([b.x, b.y]);
}
const result = {
  model: file, data: data.source, engine: describeEngine(engine), records: n, genuineRecords: g,
  agreement: agree / n, maxAbsLogitDifference: worst,
  ours: { accuracy: oursRight / n, genuineAccuracy: oursG / g, evalSeconds: oursS },
  onnxruntime: { accuracy: ortRight / n, genuineAccuracy: ortG / g, evalSeconds: ortS },
  importSeconds, matches: im.spec.matches ?? null, notes: im.notes,
};
console.log(JSON.stringify(result, null, 2));
writeFileSync(new URL('./check.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
