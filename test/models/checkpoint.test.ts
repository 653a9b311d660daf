/** Checkpoint files: round trip, checksum, finiteness, and the version-1 layout. */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { loadTensors, saveTensors } from '../../src/models/checkpoint.js';
import { tmpDir } from '../helpers/fake_cifar.js';

beforeAll(async () => { await initEngine('cpu'); });

async function sample(file: string, values = [1, 2, 3, 4]): Promise<void> {
  const t = new Map<string, tf.Tensor>([['w', tf.tensor2d(values, [2, 2])], ['steps', tf.tensor1d([7], 'int32')]]);
  await saveTensors(file, t);
  tf.dispose([...t.values()]);
}

describe('checkpoints', () => {
  it('round-trips names, shapes, dtypes and values', async () => {
    const f = path.join(tmpDir(), 'a.bin');
    await sample(f);
    const t = await loadTensors(f);
    expect(t.get('w')!.shape).toEqual([2, 2]);
    expect(Array.from(t.get('w')!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(t.get('steps')!.dtype).toBe('int32');
    tf.dispose([...t.values()]);
  });

  it('refuses a file with a flipped byte in its data (checksum), naming the file', async () => {
    const f = path.join(tmpDir(), 'b.bin');
    await sample(f);
    const buf = readFileSync(f);
    buf[buf.length - 6]! ^= 0x10; // inside w's data: still a finite float
    writeFileSync(f, buf);
    await expect(loadTensors(f)).rejects.toThrow(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: checksum mismatch`));
  });

  it('refuses a non-finite tensor, naming it, even with a valid checksum', async () => {
    const f = path.join(tmpDir(), 'c.bin');
    await sample(f, [1, NaN, 3, 4]);
    await expect(loadTensors(f)).rejects.toThrow(/tensor w holds a non-finite value \(NaN at index 1\)/);
    const before = tf.memory().numTensors;
    await loadTensors(f).catch(() => undefined);
    expect(tf.memory().numTensors).toBe(before); // nothing leaked on the way out
  });

  it('refuses truncated and empty files', async () => {
    const f = path.join(tmpDir(), 'd.bin');
    await sample(f);
    const buf = readFileSync(f);
    writeFileSync(f, buf.subarray(0, buf.length - 3));
    await expect(loadTensors(f)).rejects.toThrow(/checksum mismatch|runs past the end/);
    writeFileSync(f, Buffer.alloc(0));
    await expect(loadTensors(f)).rejects.toThrow(/not a hetsplit checkpoint \(too short\)/);
  });

  it('loads the version-1 layout (a bare tensor list, no checksum) and still checks finiteness', async () => {
    const f = path.join(tmpDir(), 'e.bin');
    const write = (vals: number[]) => {
      const header = Buffer.from(JSON.stringify([{ name: 'w', shape: [2], dtype: 'float32', offset: 0, length: 2 }]));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(header.length, 0);
      writeFileSync(f, Buffer.concat([len, header, Buffer.from(new Float32Array(vals).buffer)]));
    };
    write([0.5, -2]);
    const t = await loadTensors(f);
    expect(Array.from(t.get('w')!.dataSync())).toEqual([0.5, -2]);
    tf.dispose([...t.values()]);
    write([0.5, Infinity]);
    await expect(loadTensors(f)).rejects.toThrow(/tensor w holds a non-finite value \(Infinity/);
  });
});
