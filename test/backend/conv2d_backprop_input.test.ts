import { describe, expect, it } from 'vitest';
import { compareWithCpu } from '../helpers/backends.js';
import { conv2dCases, outShape } from '../helpers/conv_cases.js';

describe('wasm Conv2DBackpropInput matches the CPU backend', () => {
  for (const [xs, fs, strides, pad] of conv2dCases) {
    const dyShape = outShape(xs, fs, strides, pad);
    it(`x${JSON.stringify(xs)} f${JSON.stringify(fs)} s${JSON.stringify(strides)} ${JSON.stringify(pad)}`, async () => {
      const r = await compareWithCpu('Conv2DBackpropInput',
        { dy: { shape: dyShape, seed: 3 }, filter: { shape: fs, seed: 4 } },
        { strides, pad, dataFormat: 'NHWC', inputShape: xs });
      expect(r.shape).toEqual(xs);
      expect(r.err).toBeLessThan(1e-4);
      expect(r.numTensorsLeaked).toBe(0);
    });
  }
});
