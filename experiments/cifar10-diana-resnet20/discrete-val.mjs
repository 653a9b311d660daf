// Validation accuracy of a finished run's search.bin with its final (discrete) mapping:
// the soft-to-hard gap before fine-tuning. Usage: node experiments/cifar10-diana-resnet20/discrete-val.mjs RUN_DIR
// (runs made before train logged discreteValAccuracy per search epoch; needs npm run build).
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../dist/backend/engine.js';
import { loadRun } from '../../dist/export/load.js';
import { loadTensors, assignAll } from '../../dist/train/checkpoint.js';
import { locateCifar } from '../../dist/data/locate.js';
import { trainValSplit, epochBatches } from '../../dist/data/pipeline.js';
import { countCorrect } from '../../dist/train/loss.js';
await initEngine('wasm'); // threads: HETSPLIT_THREADS, else every core
const dir = process.argv[2];
const run = await loadRun(dir);
const t = await loadTensors(path.join(dir, 'search.bin'));
assignAll('search.bin', run.model.params.trainable, t, 'p/');
tf.dispose([...t.values()]);
const data = await locateCifar({ dataset: run.config.dataset, data: run.config.data ?? undefined });
const split = trainValSplit(data.train.n, run.config.valSize, run.config.seed);
let correct = 0;
for (const b of epochBatches(data.train, split.val, { batchSize: 256, shuffle: false, augment: false, norm: run.config.norm, seed: 0, dropLast: false }, 0)) {
  correct += tf.tidy(() => countCorrect(run.model.forward(b.x, 1).logits, b.y));
  tf.dispose([b.x, b.y]);
}
console.log(JSON.stringify({ dir, discreteValAfterSearch: correct / split.val.length, finalVal: run.metrics.valAccuracy }));
