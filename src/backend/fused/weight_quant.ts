/**
 * Fused weight fake-quantizer kernels, registered for the 'wasm' and 'cpu' backends: one JS
 * pass each way over the backend's memory, instead of ~6 TF.js kernels forward and ~9
 * backward per quantizer and step (the search step runs ~80 quantizers: their per-kernel
 * overhead, not their FLOPs, was the cost). Other backends use the composite ops.
 *
 *   HetsplitWeightQuant(w, S; levels) -> y = S·round(L·clamp(w/S, −1, 1))/L
 *   HetsplitWeightQuantGrad(dy, w, S; levels, passOutside) ->
 *     [dw = dy where |w| ≤ S (everywhere with passOutside) else 0,
 *      dS = Σ dy·(inside ? q − w/S : sign(w)), q = round(L·w/S)/L, summed to S's shape]
 * L = levels (2^(bits−1) − 1 for a bits-bit quantizer, 1 for ternary); S is one scale, or
 * one per output channel where the channel is the index modulo S's size (the last axis of
 * W, or [C, 1] against depthwise [k, k, C, 1]). Rounding is half to even and every step is
 * rounded to float32, as TF.js's round and float32 kernels do, so the forward is bit-exact
 * with the composite ops.
 */
import { registerKernel, type KernelBackend, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { access } from './access.js';

export const WEIGHT_QUANT = 'HetsplitWeightQuant';
export const WEIGHT_QUANT_GRAD = 'HetsplitWeightQuantGrad';

const f32 = Math.fround;

/** Round half to even, as tf.round (written as its CPU kernel is, so −0.3 gives −0 as there). */
function rint(x: number): number {
  const f = Math.floor(x), d = x - f;
  return d < 0.5 ? f : d > 0.5 ? Math.ceil(x) : (f % 2 === 0 ? f : f + 1);
}

/** S is one scale, or one per channel at index i mod C: W's last axis, or [C, 1] against [.., C, 1]. */
function checkScale(w: TensorInfo, scale: TensorInfo, kernel: string): void {
  const C = scale.shape.reduce((a, b) => a * b, 1), r = w.shape.length;
  const ok = C === 1 || w.shape[r - 1] === C || (w.shape[r - 1] === 1 && w.shape[r - 2] === C);
  if (!ok) throw new Error(`${kernel}: scale of shape [${scale.shape}] does not match weights [${w.shape}]`);
}

function configs(backendName: 'wasm' | 'cpu'): KernelConfig[] {
  return [
    {
      kernelName: WEIGHT_QUANT, backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const io = access(backend as KernelBackend, backendName);
        const { w, scale } = inputs as { w: TensorInfo; scale: TensorInfo };
        checkScale(w, scale, WEIGHT_QUANT);
        const L = attrs!.levels as number;
        const out = io.allocate(w.shape);
        const ws = io.read(w), S = io.read(scale), y = io.read(out);
        const C = S.length;
        for (let i = 0; i < ws.length; i++) {
          const s = S[C === 1 ? 0 : i % C]!;
          let u = f32(ws[i]! / s);
          u = u > 1 ? 1 : u < -1 ? -1 : u;
          y[i] = f32(f32(rint(f32(u * L)) / L) * s);
        }
        return out;
      },
    },
    {
      kernelName: WEIGHT_QUANT_GRAD, backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const io = access(backend as KernelBackend, backendName);
        const { dy, w, scale } = inputs as { dy: TensorInfo; w: TensorInfo; scale: TensorInfo };
        checkScale(w, scale, WEIGHT_QUANT_GRAD);
        const L = attrs!.levels as number, passOutside = attrs!.passOutside as boolean;
        const dwInfo = io.allocate(w.shape), dsInfo = io.allocate(scale.shape);
        const g = io.read(dy), ws = io.read(w), S = io.read(scale), dw = io.read(dwInfo), ds = io.read(dsInfo);
        const C = S.length;
        const acc = new Float64Array(C);
        for (let i = 0; i < ws.length; i++) {
          const c = C === 1 ? 0 : i % C;
          const s = S[c]!, v = ws[i]!, gi = g[i]!;
          if (Math.abs(v) <= s) {
            const r = f32(v / s);
            acc[c] += gi * (f32(rint(f32(r * L)) / L) - r);
            dw[i] = gi;
          } else {
            acc[c] += gi * Math.sign(v);
            dw[i] = passOutside ? gi : 0;
          }
        }
        for (let c = 0; c < C; c++) ds[c] = acc[c]!;
        return [dwInfo, dsInfo];
      },
    },
  ];
}

let done = false;
/** Idempotent. */
export function registerWeightQuantKernels(): void {
  if (done) return;
  for (const c of [...configs('wasm'), ...configs('cpu')]) registerKernel(c);
  done = true;
}
