/**
 * ONNX import against onnxruntime-node: graphs built here (each op the importer supports,
 * fused and unfused BatchNorm, depthwise blocks, torch's shape arithmetic, opsets 11-18)
 * give the same logits through our forward pass as through onnxruntime on the same input.
 */
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { forward } from '../../src/models/forward.js';
import { importOnnx, type ImportedModel } from '../../src/models/onnx_import.js';
import { Rng } from '../../src/models/rng.js';
import { importedParams } from '../../src/train/imported.js';
import { UserError } from '../../src/util/errors.js';
import { attr, GraphBuilder } from '../helpers/onnx_build.js';

beforeAll(async () => { await initEngine('wasm'); });

/** Random NCHW input in [0, 1). */
function input(n: number, c: number, h: number, w: number, seed = 3): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n * c * h * w }, () => r.next());
}

async function ortLogits(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({ input: new ort.Tensor('float32', x, dims) });
  return out[s.outputNames[0]!]!.data as Float32Array;
}

function ourLogits(im: ImportedModel, x: Float32Array, dims: number[]): Float32Array {
  const p = importedParams(im);
  try {
    return tf.tidy(() => {
      const nhwc = tf.transpose(tf.tensor4d(x, dims as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D;
      return forward(im.spec, p, nhwc, { training: false }).dataSync() as Float32Array;
    });
  } finally { p.dispose(); }
}

async function maxDiff(bytes: Uint8Array, dims = [4, 3, 12, 12]): Promise<{ diff: number; im: ImportedModel; scale: number }> {
  const im = importOnnx(bytes, 'test.onnx', { inputNonNegative: true });
  const x = input(dims[0]!, dims[1]!, dims[2]!, dims[3]!);
  const ref = await ortLogits(bytes, x, dims);
  const ours = ourLogits(im, x, dims);
  expect(ours.length).toBe(ref.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < ref.length; i++) { diff = Math.max(diff, Math.abs(ref[i]! - ours[i]!)); scale = Math.max(scale, Math.abs(ref[i]!)); }
  return { diff, im, scale };
}

describe('ONNX import matches onnxruntime', () => {
  it('conv + unfused BN + relu + residual add + maxpool + padded avgpool + flatten of a map + Gemm (opset 13)', async () => {
    const g = new GraphBuilder(1);
    const a = g.op('Relu', [g.bn(g.conv('input', 3, 8, 3, { pads: [1, 1, 1, 1] }), 8)]);
    const b = g.bn(g.conv(a, 8, 8, 3, { pads: [1, 1, 1, 1], bias: false }), 8);
    const s = g.op('Relu', [g.op('Add', [b, a])]);
    const m = g.op('MaxPool', [s], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])]); // 6x6
    const c = g.op('Relu', [g.conv(m, 8, 12, 3, { stride: 2, pads: [1, 0, 1, 0] })]); // asymmetric pads (top, bottom only): 3x2
    const p = g.op('AveragePool', [c], [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [1, 1]), attr.ints('pads', [1, 1, 0, 0])]); // excludes pads
    const f = g.op('Flatten', [p], [attr.int('axis', 1)]); // 12 x 3 x 2 in NCHW order
    const y = g.op('Gemm', [f, g.rand([10, 72], 0.1), g.rand([10], 0.1)], [attr.int('transB', 1)]);
    const { diff, im, scale } = await maxDiff(g.build(y));
    expect(scale).toBeGreaterThan(0.05);
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(im.spec.layers.map((l) => l.kind)).toEqual(['conv', 'conv', 'conv', 'fc']);
    expect(im.spec.adds).toHaveLength(1);
    expect(im.spec.adds[0]!.relu).toBe(true);
    expect(im.spec.layers[3]!.cin).toBe(72); // 12 channels x 3 x 2
    expect(im.notes.join(' ')).toMatch(/folded 2 BatchNormalization/);
  });

  it('depthwise block with ReLU6 (Clip), strided depthwise, pointwise, ReduceMean pool, MatMul + Add (opset 11)', async () => {
    const g = new GraphBuilder(2);
    const lo = g.init(Float32Array.of(0), []), hi = g.init(Float32Array.of(6), []);
    const a = g.op('Clip', [g.conv('input', 3, 8, 3, { pads: [1, 1, 1, 1] }), lo, hi]);
    const d = g.op('Clip', [g.bn(g.conv(a, 8, 8, 3, { stride: 2, pads: [1, 1, 1, 1], group: 8, bias: false }), 8), lo, hi]);
    const pw = g.op('Relu', [g.conv(d, 8, 16, 1)]);
    const sq = g.op('ReduceMean', [pw], [attr.ints('axes', [2, 3]), attr.int('keepdims', 0)]); // torch's x.mean((2, 3))
    const y = g.op('Add', [g.op('MatMul', [sq, g.rand([16, 10], 0.2)]), g.rand([10], 0.1)]);
    const { diff, im } = await maxDiff(g.build(y, { opset: 11 }));
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(im.spec.layers.map((l) => `${l.kind}:${l.act}`)).toEqual(['conv:relu6', 'depthwise:relu6', 'conv:relu', 'fc:none']);
  });

  it("torch's tail: Pad + whole-map AveragePool + 1x1 Conv classifier + Gather squeezes; Shape/Gather/Unsqueeze/Concat/Reshape flatten; dilation (opset 18)", async () => {
    const g = new GraphBuilder(3);
    const a = g.op('Relu', ['input']); // a ReLU of a non-negative input: dropped
    const c = g.op('Relu', [g.conv(a, 3, 8, 3, { pads: [2, 2, 2, 2], dilation: 2 })]);
    const c2 = g.op('Relu', [g.conv(c, 8, 8, 3, { pads: [1, 1, 1, 1] })]);
    const padded = g.op('Pad', [c2, g.constant([0, 0, 0, 0, 0, 0, 0, 0], [8])]);
    const pool = g.op('AveragePool', [padded], [attr.ints('kernel_shape', [12, 12]), attr.ints('strides', [12, 12])]);
    const fc = g.conv(g.op('Relu', [pool]), 8, 10, 1);
    const idx = g.constant([0], []);
    const sq = g.op('Gather', [g.op('Gather', [fc, idx], [attr.int('axis', 2)]), idx], [attr.int('axis', 2)]); // [N, 10]
    // flatten again through torch's shape arithmetic: x.view(x.size(0), -1)
    const n = g.op('Unsqueeze', [g.op('Gather', [g.op('Shape', [sq]), g.constant([0], [])], [attr.int('axis', 0)]), g.i64([0])]);
    const shape = g.op('Concat', [n, g.constant([-1], [1])], [attr.int('axis', 0)]);
    const y = g.op('Reshape', [sq, shape]);
    const { diff, im } = await maxDiff(g.build(y, { opset: 18 }));
    expect(diff).toBeLessThanOrEqual(1e-4);
    expect(im.spec.pools).toEqual([expect.objectContaining({ kind: 'global' })]);
    expect(im.spec.layers.map((l) => l.kind)).toEqual(['conv', 'conv', 'fc']);
    expect(im.spec.layers[0]!.dilation).toBe(2);
  });

  it('a pre-padded max pool, SAME_UPPER auto_pad, a Pad merged into the next conv, GlobalAveragePool + Squeeze (opset 13)', async () => {
    const g = new GraphBuilder(4);
    const a = g.op('Relu', [g.conv('input', 3, 6, 3, { pads: [1, 1, 1, 1] })]);
    const pa = g.op('Pad', [a, g.i64([0, 0, 1, 0, 0, 0, 0, 1])]); // top 1, right 1
    const m = g.op('MaxPool', [pa], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2])]);
    const pc = g.op('Pad', [m, g.i64([0, 0, 1, 1, 0, 0, 1, 1])]);
    const c = g.op('Relu', [g.conv(pc, 6, 6, 3)]);
    const s = g.op('Conv', [c, g.rand([6, 6, 3, 3], 0.2), g.rand([6], 0.1)], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.str('auto_pad', 'SAME_UPPER')]);
    const f = g.op('Flatten', [g.op('Relu', [s])]);
    const y1 = g.op('Gemm', [f, g.rand([10, 6 * 3 * 3], 0.1)], [attr.int('transB', 1)]);
    const { diff } = await maxDiff(g.build(y1));
    expect(diff).toBeLessThanOrEqual(1e-4);
    // the same trunk ending in GlobalAveragePool + Squeeze (axes as an input, opset 13) + Gemm
    const gp = g.op('Squeeze', [g.op('GlobalAveragePool', [g.op('Relu', [s])]), g.i64([2, 3])]);
    const y2 = g.op('Gemm', [gp, g.rand([10, 6], 0.3)], [attr.int('transB', 1)]);
    const r2 = await maxDiff(g.build(y2));
    expect(r2.diff).toBeLessThanOrEqual(1e-4);
    expect(r2.im.spec.pools.map((p) => p.kind)).toEqual(['max', 'global']);
  });
});

describe('ONNX import refuses what it cannot express, in one line naming the node', () => {
  const err = (bytes: Uint8Array): string => {
    try { importOnnx(bytes, 'bad.onnx', { inputNonNegative: true }); } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  it('an unsupported op', () => {
    const g = new GraphBuilder(5);
    const y = g.op('Sigmoid', [g.conv('input', 3, 10, 12)]);
    expect(err(g.build(y, { outputDims: ['N', 10, 1, 1] }))).toMatch(/bad\.onnx: node '\/sigmoid_\d+\/Sigmoid' \(Sigmoid\): operator Sigmoid is not supported \(supported: Conv, /);
  });
  it('a grouped (not depthwise) convolution', () => {
    const g = new GraphBuilder(6);
    expect(err(g.build(g.conv('input', 3, 6, 3, { group: 3 })))).toMatch(/\(Conv\): groups = 3 .* only groups = 1 or depthwise/);
  });
  it('two graph inputs', () => {
    const g = new GraphBuilder(7);
    g.addInput('second', ['N', 3, 12, 12]);
    expect(err(g.build(g.conv('input', 3, 10, 12)))).toMatch(/2 inputs \(input, second\); expected one image input/);
  });
  it('a non-image input', () => {
    const g = new GraphBuilder(8);
    const y = g.op('Gemm', ['input', g.rand([10, 20])], [attr.int('transB', 1)]);
    expect(err(g.build(y, { inputDims: ['N', 20] }))).toMatch(/input 'input' must be a float image \[N, C, H, W\]/);
  });
  it('external data', () => {
    const g = new GraphBuilder(9);
    const bytes = g.build(g.conv('input', 3, 10, 12));
    const onnxProto = importOnnxProto();
    const m = onnxProto.ModelProto.decode(bytes);
    m.graph!.initializer![0]!.dataLocation = onnxProto.TensorProto.DataLocation.EXTERNAL;
    expect(err(onnxProto.ModelProto.encode(m).finish())).toMatch(/stored as external data/);
  });
  it('an opset outside 11-18', () => {
    const g = new GraphBuilder(10);
    expect(err(g.build(g.conv('input', 3, 10, 12), { opset: 9 }))).toMatch(/opset 9: supported opsets are 11 to 18/);
  });
  it('a training-mode BatchNorm, a Clip that is not ReLU6, a reflect Pad', () => {
    let g = new GraphBuilder(11);
    const lo = g.init(Float32Array.of(-1), []), hi = g.init(Float32Array.of(1), []);
    expect(err(g.build(g.op('Clip', [g.conv('input', 3, 10, 12), lo, hi])))).toMatch(/Clip\(-1, 1\) is not supported/);
    g = new GraphBuilder(12);
    const pr = g.op('Pad', ['input', g.i64([0, 0, 1, 1, 0, 0, 1, 1])], [attr.str('mode', 'reflect')]);
    expect(err(g.build(g.conv(pr, 3, 10, 14)))).toMatch(/pad mode 'reflect' is not supported/);
  });
  it('not ONNX at all', () => {
    expect(err(Uint8Array.from([1, 2, 3, 255, 255]))).toMatch(/not an ONNX model/);
  });
});

import onnxProtoModule from 'onnx-proto';
function importOnnxProto() { return onnxProtoModule.onnx; }
