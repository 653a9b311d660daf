/**
 * Every convolution kernel of every kernel set (TF.js/XNNPACK compositions, hetsplit's own
 * WebAssembly module, and the native addon on each instruction set this CPU has) against TF.js's CPU backend, on the shared
 * shape cases: stride 1/2/3, same/valid/explicit padding, odd sizes, batch 1, one channel,
 * 1x1/3x3/5x5, plus channel counts that exercise the native micro-kernels' full and
 * partial register blocks.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { initEngine, loadWasmKernels } from '../../src/backend/engine.js';
import { registerNativeKernels } from '../../src/backend/native/register.js';
import { loadNative } from '../../src/backend/native/addon.js';
import { compareWithCpu, linearAdjointReference, relError, runKernelOn } from '../helpers/backends.js';
import { conv2dCases, outShape, type Case } from '../helpers/conv_cases.js';

const { addon, reason } = loadNative();
const isas = addon ? addon.configure({}).isas : [];

function hasCompiler(): boolean {
  try {
    execFileSync('g++', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

it('the native addon is built and loads wherever a C++ compiler exists', () => {
  if (!hasCompiler()) {
    console.warn(`no g++ here: native kernels not tested (${reason})`);
    return;
  }
  expect(reason).toBeNull();
  expect(isas).toContain('baseline');
});

it('hetsplit\'s own WebAssembly kernels load on the threaded engine', async () => {
  const info = await initEngine('wasm', undefined, 'wasm');
  expect(info.threads).toBeGreaterThan(1);
  expect(info.kernels).toBe('wasm simd128');
});

const sets: { name: string; use: () => Promise<void> }[] = [
  { name: 'tfjs', use: async () => { await initEngine('wasm', undefined, 'tfjs'); } },
  { name: 'wasm simd128', use: async () => { await initEngine('wasm', undefined, 'wasm'); } },
  {
    // Every kernel of the module, also those the engine leaves to TF.js (WASM_TAKES).
    name: 'wasm simd128, every kernel',
    use: async () => {
      const info = await initEngine('wasm', undefined, 'wasm');
      const { addon } = await loadWasmKernels(info.threads);
      registerNativeKernels({ ...addon!, takes: undefined });
    },
  },
  ...isas.map((isa) => ({
    name: `native ${isa}`,
    use: async () => {
      await initEngine('wasm', undefined, 'native');
      addon!.configure({ isa });
    },
  })),
];

const wideCases: Case[] = [
  [[2, 6, 6, 17], [3, 3, 17, 70], 2, 'same'],
  [[1, 5, 5, 64], [3, 3, 64, 64], 1, 'same'],
  [[3, 4, 4, 32], [1, 1, 32, 16], 1, 'valid'],
  [[2, 9, 9, 16], [3, 3, 16, 32], 2, 'same'],
  [[2, 7, 7, 24], [3, 3, 24, 48], 3, 'valid'],
];
const convCases = [...conv2dCases, ...wideCases];

// [x shape, filter [kh,kw,C,m], strides, pad, dilations]
type DwCase = [number[], number[], number | [number, number], unknown, [number, number]];
const dwCases: DwCase[] = [
  [[2, 7, 7, 3], [3, 3, 3, 1], 1, 'same', [1, 1]],
  [[2, 8, 8, 4], [3, 3, 4, 1], 2, 'same', [1, 1]],
  [[1, 9, 8, 1], [3, 3, 1, 1], 2, 'valid', [1, 1]],
  [[1, 11, 11, 2], [5, 5, 2, 1], 3, 'valid', [1, 1]],
  [[2, 10, 9, 3], [3, 3, 3, 1], [2, 1], 'same', [1, 1]],
  [[2, 6, 6, 3], [3, 3, 3, 1], 1, [[0, 0], [1, 2], [2, 0], [0, 0]], [1, 1]],
  [[2, 9, 9, 37], [3, 3, 37, 1], 2, 'same', [1, 1]],
  [[2, 8, 7, 3], [3, 3, 3, 2], 2, 'same', [1, 1]],  // multiplier 2: the fallback kernel
  [[2, 9, 9, 18], [3, 3, 18, 1], 1, 'same', [2, 2]],
];

const tag = (c: unknown[]) => c.map((v) => JSON.stringify(v)).join(' ');

for (const set of sets) {
  describe(`kernels ${set.name}: convolutions match the CPU backend`, () => {
    for (const [xs, fs, strides, pad] of convCases) {
      const dyShape = outShape(xs, fs, strides, pad);
      it(`Conv2D / BackpropInput / BackpropFilter ${tag([xs, fs, strides, pad])}`, async () => {
        await set.use();
        const fwd = await compareWithCpu('Conv2D', { x: { shape: xs, seed: 1 }, filter: { shape: fs, seed: 2 } },
          { strides, pad, dataFormat: 'NHWC', dilations: 1 });
        const bin = await compareWithCpu('Conv2DBackpropInput', { dy: { shape: dyShape, seed: 3 }, filter: { shape: fs, seed: 4 } },
          { strides, pad, dataFormat: 'NHWC', inputShape: xs });
        const bfi = await compareWithCpu('Conv2DBackpropFilter', { x: { shape: xs, seed: 5 }, dy: { shape: dyShape, seed: 6 } },
          { strides, pad, dataFormat: 'NHWC', filterShape: fs });
        expect([fwd.shape, bin.shape, bfi.shape]).toEqual([dyShape, xs, fs]);
        for (const r of [fwd, bin, bfi]) {
          expect(r.err).toBeLessThan(1e-4);
          expect(r.numTensorsLeaked).toBe(0);
        }
      });
    }
    it('Conv2D with dilation 2 and (2,3)', async () => {
      await set.use();
      for (const dil of [[2, 2], [2, 3]] as [number, number][]) {
        const r = await compareWithCpu('Conv2D', { x: { shape: [2, 11, 10, 5], seed: 1 }, filter: { shape: [3, 3, 5, 20], seed: 2 } },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: dil });
        expect(r.err).toBeLessThan(1e-4);
      }
    });
    for (const [xs, fs, strides, pad, dilations] of dwCases) {
      const dyShape = outShape(xs, fs, strides, pad, dilations, fs[2] * fs[3]);
      const dilated = dilations[0] > 1 || dilations[1] > 1;
      it(`Depthwise forward / BackpropInput / BackpropFilter ${tag([xs, fs, strides, pad, dilations])}`, async () => {
        await set.use();
        const attrs = { strides, pad, dilations };
        const fwd = await compareWithCpu('DepthwiseConv2dNative', { x: { shape: xs, seed: 1 }, filter: { shape: fs, seed: 2 } }, attrs);
        expect(fwd.err).toBeLessThan(1e-4);
        expect(fwd.shape).toEqual(dyShape);
        if (dilated) {
          // TF.js's CPU depthwise gradients ignore dilation: compare with the exact adjoint of its forward.
          const refF = await linearAdjointReference('DepthwiseConv2dNative', 'filter', fs, { x: { shape: xs, seed: 5 } }, { shape: dyShape, seed: 6 }, attrs);
          await set.use();
          const gotF = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', { x: { shape: xs, seed: 5 }, dy: { shape: dyShape, seed: 6 } }, { ...attrs, filterShape: fs });
          expect(relError(refF, gotF.values)).toBeLessThan(1e-4);
          const refI = await linearAdjointReference('DepthwiseConv2dNative', 'x', xs, { filter: { shape: fs, seed: 8 } }, { shape: dyShape, seed: 7 }, attrs);
          await set.use();
          const gotI = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: { shape: dyShape, seed: 7 }, filter: { shape: fs, seed: 8 } }, { ...attrs, inputShape: xs });
          expect(relError(refI, gotI.values)).toBeLessThan(1e-4);
          return;
        }
        const bin = await compareWithCpu('DepthwiseConv2dNativeBackpropInput', { dy: { shape: dyShape, seed: 7 }, filter: { shape: fs, seed: 8 } }, { ...attrs, inputShape: xs });
        const bfi = await compareWithCpu('DepthwiseConv2dNativeBackpropFilter', { x: { shape: xs, seed: 5 }, dy: { shape: dyShape, seed: 6 } }, { ...attrs, filterShape: fs });
        for (const r of [bin, bfi]) {
          expect(r.err).toBeLessThan(1e-4);
          expect(r.numTensorsLeaked).toBe(0);
        }
      });
    }
  });
}
