// Per-kernel timing of one ResNet20 stage-1 layer ([128,32,32,16] x [3,3,16,16], stride 1,
// 'same'), kernel set given as argv[2] (native | wasm | tfjs), 2 threads. Kernels run
// synchronously, so wall time around the call is the kernel's; no dataSync (copying 8 MB
// out of the shared heap costs ~27 ms by itself and would hide the kernels).
//   node experiments/bench/wasm-kernels-micro.mjs wasm
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../dist/backend/engine.js';

const set = process.argv[2] ?? 'wasm';
const shapes = (process.argv[3] ?? '128,32,32,16,16').split(',').map(Number);
const [B, H, W, CI, CO] = shapes;
await initEngine('wasm', 2, set);
const x = tf.randomNormal([B, H, W, CI]), w = tf.randomNormal([3, 3, CI, CO]);
const dy = tf.randomNormal([B, H, W, CO]);
const flops = 2 * B * H * W * CI * CO * 9;
const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
for (const [name, f] of [
  ['Conv2D', () => tf.conv2d(x, w, 1, 'same')],
  ['Conv2DBackpropInput', () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { ...attrs, inputShape: [B, H, W, CI] })],
  ['Conv2DBackpropFilter', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, CI, CO] })],
]) {
  const ts = [];
  for (let i = 0; i < 40; i++) { const t0 = performance.now(); const r = f(); ts.push(performance.now() - t0); r.dispose(); }
  const best = ts.slice(10).sort((a, b) => a - b);
  const med = best[best.length >> 1];
  console.log(`${set.padEnd(7)} ${name.padEnd(22)} median ${med.toFixed(2)} ms  ${(flops / med / 1e6).toFixed(1)} GFLOP/s`);
}
{
  const C = CO;
  const xd = tf.randomNormal([B, H, W, C]), wd = tf.randomNormal([3, 3, C, 1]), dyd = tf.randomNormal([B, H, W, C]);
  const dflops = 2 * B * H * W * C * 9;
  const dattrs = { strides: 1, pad: 'same', dilations: 1 };
  for (const [name, f] of [
    ['Depthwise', () => tf.depthwiseConv2d(xd, wd, 1, 'same')],
    ['DepthwiseBackpropInput', () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dyd, filter: wd }, { ...dattrs, inputShape: [B, H, W, C] })],
    ['DepthwiseBackpropFilter', () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: xd, dy: dyd }, { ...dattrs, filterShape: [3, 3, C, 1] })],
  ]) {
    const ts = [];
    for (let i = 0; i < 30; i++) { const t0 = performance.now(); const r = f(); ts.push(performance.now() - t0); r.dispose(); }
    const s = ts.slice(10).sort((a, b) => a - b), med = s[s.length >> 1];
    console.log(`${set.padEnd(7)} ${name.padEnd(22)} median ${med.toFixed(2)} ms  ${(dflops / med / 1e6).toFixed(1)} GFLOP/s`);
  }
}
