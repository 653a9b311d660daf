// Per-geometry time of the native convolution calls in one bench step (plus its forward
// timing pass) of a case, default darkside-search-mobilenetv1; both passes are summed and
// halved. Shows which layers a model spends its convolution time in.
//   node experiments/bench/conv-geometry-profile.mjs [case]
import { initEngine } from '../../dist/backend/engine.js';
import { loadNative } from '../../dist/backend/native/addon.js';
import { registerNativeKernels } from '../../dist/backend/native/register.js';
import { benchCase } from '../../dist/train/bench.js';
const { addon } = loadNative();
const stats = {};
const w = {};
for (const k of ['configure', 'conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter', 'depthwise', 'depthwiseBackpropInput', 'depthwiseBackpropFilter', 'batchNormForward', 'batchNormBackward', 'pactForward', 'pactBackward']) {
  const f = addon[k].bind(addon);
  w[k] = k.startsWith('conv') && k !== 'configure' ? (a, b, o, g) => { const t0 = performance.now(); f(a, b, o, g); const dt = performance.now() - t0; const key = k + ' ' + Array.from(g).join(','); stats[key] = (stats[key] ?? 0) + dt; } : f;
}
await initEngine('wasm', 2, 'native');
registerNativeKernels(w);
benchCase(process.argv[2] ?? 'darkside-search-mobilenetv1', 128, 1, 1, () => {});
for (const k in stats) stats[k] /= 2;
for (const [k, v] of Object.entries(stats).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(v.toFixed(1).padStart(8), k);
