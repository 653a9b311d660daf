import { describe, expect, it } from 'vitest';
import { compareWithCpu } from '../helpers/backends.js';
import { conv2dCases, outShape } from '../helpers/conv_cases.js';

describe('wasm Conv2DBackpropFilter matches the CPU backend', () => {
  for (const [xs, fs, strides, pad] of conv2dCases) {
    const dyShape = outShape(xs, fs, strides, pad);
    it(`x${JSON.stringify(xs)} f${JSON.stringify(fs)} s${JSON.stringify(strides)} ${JSON.stringify(pad)}`, async () => {
      const r = await compareWithCpu('Conv2DBackpropFilter',
        { x: { shape: xs, seed: 1 }, dy: { shape: dyShape, seed: 2 } },
        { strides, pad, dataFormat: 'NHWC', filterShape: fs });
      expect(r.shape).toEqual(fs);
      expect(r.err).toBeLessThan(1e-4);
      expect(r.numTensorsLeaked).toBe(0);
    });
  }
});
