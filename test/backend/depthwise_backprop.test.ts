import { describe, expect, it } from 'vitest';
import { compareWithCpu, linearAdjointReference, relError, runKernelOn } from '../helpers/backends.js';
import { outShape } from '../helpers/conv_cases.js';

// [x shape, filter shape [kh,kw,C,m], strides, pad, dilations]
type DwCase = [number[], number[], number | [number, number], unknown, [number, number]];
const cases: DwCase[] = [
  [[2, 7, 7, 3], [3, 3, 3, 1], 1, 'same', [1, 1]],
  [[2, 7, 7, 3], [3, 3, 3, 1], 2, 'same', [1, 1]],
  [[2, 8, 8, 4], [3, 3, 4, 1], 2, 'same', [1, 1]],
  [[1, 9, 8, 1], [3, 3, 1, 1], 2, 'valid', [1, 1]],
  [[2, 9, 9, 2], [3, 3, 2, 2], 1, 'valid', [1, 1]],
  [[2, 8, 7, 3], [3, 3, 3, 3], 2, 'same', [1, 1]],
  [[3, 5, 5, 4], [1, 1, 4, 1], 1, 'valid', [1, 1]],
  [[1, 11, 11, 2], [5, 5, 2, 1], 2, 'valid', [1, 1]],
  [[2, 10, 9, 3], [3, 3, 3, 1], [2, 1], 'same', [1, 1]],
  [[2, 9, 9, 2], [3, 3, 2, 1], 1, 'same', [2, 2]],
  [[1, 11, 10, 3], [3, 3, 3, 2], 1, 'valid', [2, 3]],
  [[2, 6, 6, 3], [3, 3, 3, 1], 1, [[0, 0], [1, 2], [2, 0], [0, 0]], [1, 1]],
  [[1, 5, 5, 1], [3, 3, 1, 1], 1, 'same', [1, 1]],
];

describe('wasm DepthwiseConv2dNative gradients match the CPU backend', () => {
  for (const [xs, fs, strides, pad, dilations] of cases.filter((c) => c[4][0] === 1 && c[4][1] === 1)) {
    const dyShape = outShape(xs, fs, strides, pad, dilations, fs[2] * fs[3]);
    const name = `x${JSON.stringify(xs)} f${JSON.stringify(fs)} s${JSON.stringify(strides)} ${JSON.stringify(pad)} d${JSON.stringify(dilations)}`;
    it(`BackpropFilter ${name}`, async () => {
      const r = await compareWithCpu('DepthwiseConv2dNativeBackpropFilter',
        { x: { shape: xs, seed: 5 }, dy: { shape: dyShape, seed: 6 } },
        { strides, pad, dilations, filterShape: fs });
      expect(r.shape).toEqual(fs);
      expect(r.err).toBeLessThan(1e-4);
      expect(r.numTensorsLeaked).toBe(0);
    });
    it(`BackpropInput ${name}`, async () => {
      const r = await compareWithCpu('DepthwiseConv2dNativeBackpropInput',
        { dy: { shape: dyShape, seed: 7 }, filter: { shape: fs, seed: 8 } },
        { strides, pad, dilations, inputShape: xs });
      expect(r.shape).toEqual(xs);
      expect(r.err).toBeLessThan(1e-4);
      expect(r.numTensorsLeaked).toBe(0);
    });
  }
});

// TF.js's CPU backprop kernels ignore dilation (its depthwise gradient asserts dilation 1),
// so dilated cases are checked against the exact adjoint of CPU's forward kernel instead.
describe('wasm depthwise gradients with dilation match the adjoint of the CPU forward', () => {
  for (const [xs, fs, strides, pad, dilations] of cases.filter((c) => c[4][0] > 1 || c[4][1] > 1)) {
    const dyShape = outShape(xs, fs, strides, pad, dilations, fs[2] * fs[3]);
    const attrs = { strides, pad, dilations };
    const name = `x${JSON.stringify(xs)} f${JSON.stringify(fs)} d${JSON.stringify(dilations)}`;
    it(`BackpropFilter ${name}`, async () => {
      const ref = await linearAdjointReference('DepthwiseConv2dNative', 'filter', fs,
        { x: { shape: xs, seed: 5 } }, { shape: dyShape, seed: 6 }, attrs);
      const got = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter',
        { x: { shape: xs, seed: 5 }, dy: { shape: dyShape, seed: 6 } }, { ...attrs, filterShape: fs });
      expect(relError(ref, got.values)).toBeLessThan(1e-4);
    });
    it(`BackpropInput ${name}`, async () => {
      const ref = await linearAdjointReference('DepthwiseConv2dNative', 'x', xs,
        { filter: { shape: fs, seed: 8 } }, { shape: dyShape, seed: 7 }, attrs);
      const got = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput',
        { dy: { shape: dyShape, seed: 7 }, filter: { shape: fs, seed: 8 } }, { ...attrs, inputShape: xs });
      expect(relError(ref, got.values)).toBeLessThan(1e-4);
    });
  }
});
