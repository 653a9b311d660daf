/**
 * A/B of the PACT activation quantizer, forward + backward on one ResNet20-sized
 * activation [128, 32, 32, 16]: the fused WASM kernel vs the same quantizer as TF.js ops,
 * interleaved so both see the same machine load. Run: npx vite-node experiments/bench/pact-ab.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/backend/engine.js';
import { pactQuant, pactQuantComposite } from '../../src/quant/quantizers.js';

await initEngine('wasm');
const x = tf.randomNormal([128, 32, 32, 16]), dy = tf.randomNormal([128, 32, 32, 16]), a = tf.scalar(6);
const time = (f: typeof pactQuant): number => {
  const t0 = performance.now();
  tf.tidy(() => { tf.grads((xx: tf.Tensor, aa: tf.Tensor) => f(xx, aa, 7))([x, a], dy)[0]!.dataSync(); });
  return performance.now() - t0;
};
const fused: number[] = [], composite: number[] = [];
for (let r = 0; r < 6; r++) {
  const f = time(pactQuant), c = time(pactQuantComposite);
  if (r > 0) { fused.push(f); composite.push(c); } // the first round warms up
}
const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
console.log(`PACT fwd+bwd [128,32,32,16]: fused ${mean(fused).toFixed(1)} ms, composite ${mean(composite).toFixed(1)} ms`);
