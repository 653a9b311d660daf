/**
 * The WASM engine on 2 threads (src/backend/wasm/threaded.ts): it really runs a 2-thread
 * pool, its results (forward and gradients of a conv + BN-free layer) match the CPU
 * backend, and a command on it still exits by itself.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { relError, seededData } from '../helpers/backends.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function lossAndGrads(): { loss: Float32Array; grads: Float32Array[] } {
  const x = tf.tensor4d(seededData(6 * 17 * 17 * 16, 1), [6, 17, 17, 16]);
  const w1 = tf.tensor4d(seededData(3 * 3 * 16 * 24, 2), [3, 3, 16, 24]);
  const w2 = tf.tensor4d(seededData(1 * 1 * 24 * 8, 3), [1, 1, 24, 8]);
  const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
    const h = tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'));
    const y = tf.conv2d(h, c as tf.Tensor4D, 1, 'valid');
    return tf.sum(tf.square(y));
  };
  const { value, grads } = tf.valueAndGrads(f)([x, w1, w2]);
  const out = { loss: value.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  tf.dispose([x, w1, w2, value, ...grads]);
  return out;
}

describe('threaded WASM engine', () => {
  it('runs on 2 threads and matches the CPU backend, gradients included', async () => {
    const info = await initEngine('wasm', 2);
    expect(info.threads).toBe(2);
    const wasm = lossAndGrads();
    await tf.setBackend('cpu');
    const cpu = lossAndGrads();
    expect(relError(wasm.loss, cpu.loss)).toBeLessThan(1e-4);
    for (let i = 0; i < 3; i++) expect(relError(wasm.grads[i]!, cpu.grads[i]!)).toBeLessThan(1e-4);
    await tf.setBackend('wasm');
  });

  it('a command on 2 threads exits by itself', () => {
    const r = spawnSync(process.execPath, [MAIN, 'engine', '--engine', 'wasm', '--threads', '2'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/engine: wasm \(tfjs [\d.]+, 2 thread\(s\), simd on, kernels (native [a-z0-9]+|tfjs)\)/);
  });

  it('a bad thread count is a one-line usage error', () => {
    const r = spawnSync(process.execPath, [MAIN, 'engine', '--threads', '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('hetsplit: --threads 0: expected a whole number ≥ 1');
    const e = spawnSync(process.execPath, [MAIN, 'engine'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HETSPLIT_THREADS: 'many' } });
    expect(e.status).toBe(2);
    expect(e.stderr).toContain('HETSPLIT_THREADS=many: expected a whole number ≥ 1');
  });
});
