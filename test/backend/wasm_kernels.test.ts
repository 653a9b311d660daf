/**
 * hetsplit's own WebAssembly module (wasm/hetsplit-kernels.wasm): the committed binary is
 * the build of the committed sources, it owns no address in the backend's memory, its
 * scratch arena grows on demand, and bad calls are refused before they reach the heap.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine, loadWasmKernels } from '../../src/backend/engine.js';
import { registerNativeKernels } from '../../src/backend/native/register.js';
import { compileKernelModule, WASM_KERNELS_PATH, wasmSectionIds } from '../../src/backend/wasmkernels/load.js';
import { compareWithCpu } from '../helpers/backends.js';

const root = path.resolve(__dirname, '..', '..');

describe('the committed WebAssembly kernels', () => {
  it('are the build of the committed sources (rebuild with `npm run build:kernels`)', async () => {
    // @ts-expect-error: a plain .mjs build script
    const { sourceDigest } = await import('../../scripts/build-kernels.mjs');
    const stamp = JSON.parse(readFileSync(path.join(root, 'wasm', 'hetsplit-kernels.json'), 'utf8'));
    expect(stamp.sources).toBe(sourceDigest());
    const bytes = readFileSync(WASM_KERNELS_PATH);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(stamp.sha256);
  });

  it('have no data segment and no start function, and import only the memory and hs_ctx', () => {
    const bytes = readFileSync(WASM_KERNELS_PATH);
    const ids = wasmSectionIds(bytes);
    expect(ids).toContain(10);  // code
    expect(ids).not.toContain(11);
    expect(ids).not.toContain(8);
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => `${i.module}.${i.name}`).sort();
    expect(imports).toEqual(['env.hs_ctx', 'env.memory']);
  });

  it('a module with a data segment is refused before it is instantiated (loader and build alike)', () => {
    // magic, version, then a data section (id 11) of one byte: zero segments
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'hetsplit-wasm-')), 'data.wasm');
    writeFileSync(file, Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 11, 1, 0));
    expect(() => compileKernelModule(file)).toThrow(/has a data segment or a start function/);
  });
});

describe('the WebAssembly kernels at run time', () => {
  it('grow their scratch arena for a filter gradient larger than it (8 partial sums of 1.2 MB)', async () => {
    const info = await initEngine('wasm', undefined, 'wasm');
    expect(info.kernels).toBe('wasm simd128');
    const r = await compareWithCpu('Conv2DBackpropFilter', { x: { shape: [9, 3, 3, 256], seed: 5 }, dy: { shape: [9, 3, 3, 128], seed: 6 } },
      { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 256, 128] });
    expect(r.err).toBeLessThan(1e-4);
  }, 60_000);

  it('refuse operands whose sizes disagree with the geometry, and non-heap arrays', async () => {
    const info = await initEngine('wasm', undefined, 'wasm');
    const { addon } = await loadWasmKernels(info.threads);
    const geometry = Int32Array.from([1, 4, 4, 2, 3, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1]);
    const heap = (n: number) => {
      const t = tf.zeros([n]);
      return { t, v: (tf.backend() as unknown as { typedArrayFromHeap(t: unknown): Float32Array }).typedArrayFromHeap(t) };
    };
    const x = heap(32), w = heap(54), y = heap(47);
    expect(() => addon!.conv2d(x.v, w.v, y.v, geometry)).toThrow(/output has 47 floats, expected 48/);
    expect(() => addon!.conv2d(new Float32Array(32), w.v, y.v, geometry)).toThrow(/view of the WASM heap/);
    const bad = geometry.slice();
    bad[4] = 0;
    expect(() => addon!.conv2d(x.v, w.v, y.v, bad)).toThrow(/geometry entry 4 out of range/);
    tf.dispose([x.t, w.t, y.t]);
  });

  it('keep numTensors flat over training steps with every kernel of the module', async () => {
    const info = await initEngine('wasm', undefined, 'wasm');
    const { addon } = await loadWasmKernels(info.threads);
    registerNativeKernels({ ...addon!, takes: undefined });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 8], 0, 0.3, 'float32', 2));
    const step = () => tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as unknown as tf.Tensor4D, 2, 'same'))) as tf.Scalar, [w]);
      w.assign(tf.sub(w, tf.mul(grads[w.name]!, 1e-3)));
    });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
    await initEngine('wasm', undefined, 'tfjs');
  });
});
