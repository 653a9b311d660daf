/** Shapes shared by the convolution-gradient comparison tests. */
// [x shape, filter shape, strides, pad]
export type Case = [number[], number[], number | [number, number], unknown];
export const conv2dCases: Case[] = [
  [[2, 7, 7, 3], [3, 3, 3, 4], 1, 'same'],
  [[2, 7, 7, 3], [3, 3, 3, 4], 2, 'same'],
  [[2, 8, 8, 3], [3, 3, 3, 4], 2, 'same'],
  [[1, 9, 8, 1], [3, 3, 1, 2], 2, 'valid'],
  [[2, 9, 9, 2], [3, 3, 2, 3], 1, 'valid'],
  [[3, 5, 5, 4], [1, 1, 4, 6], 1, 'valid'],
  [[2, 8, 8, 5], [1, 1, 5, 7], 2, 'same'],
  [[2, 7, 7, 5], [1, 1, 5, 7], 2, 'valid'],
  [[1, 11, 11, 2], [5, 5, 2, 3], 2, 'valid'],
  [[1, 11, 10, 2], [5, 3, 2, 3], 3, 'same'],
  [[2, 10, 9, 3], [3, 3, 3, 2], [2, 1], 'same'],
  [[2, 6, 6, 3], [3, 3, 3, 2], 1, [[0, 0], [1, 2], [2, 0], [0, 0]]],
  [[1, 1, 1, 16], [1, 1, 16, 10], 1, 'valid'], // FC as 1x1 conv on a 1x1 map
  [[1, 5, 5, 1], [3, 3, 1, 1], 1, 'same'],
];

/** Output shape of a NHWC conv (independent of tfjs, so the test does not trust it). */
export function outShape(xs: number[], fs: number[], strides: number | [number, number], pad: unknown,
  dil: [number, number] = [1, 1], channelsOut = fs[3]): number[] {
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const eh = (fs[0] - 1) * dil[0] + 1, ew = (fs[1] - 1) * dil[1] + 1;
  let oh: number, ow: number;
  if (pad === 'same') { oh = Math.ceil(xs[1] / sh); ow = Math.ceil(xs[2] / sw); }
  else if (pad === 'valid') { oh = Math.ceil((xs[1] - eh + 1) / sh); ow = Math.ceil((xs[2] - ew + 1) / sw); }
  else {
    const p = pad as number[][];
    oh = Math.floor((xs[1] + p[1][0] + p[1][1] - eh) / sh) + 1;
    ow = Math.floor((xs[2] + p[2][0] + p[2][1] - ew) / sw) + 1;
  }
  return [xs[0], oh, ow, channelsOut];
}
