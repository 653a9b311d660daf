/**
 * Named tensors to one binary file and back: a little-endian u32 header length, a JSON
 * header {version: 2, sha256, tensors: [{name, shape, dtype, offset, length}]}, then the
 * raw data. Written atomically; on load the data's SHA-256 is checked (a damaged file is
 * refused, not trained on) and float tensors must be finite. Version-1 files (the header
 * a bare tensor list, no checksum) still load, with the finiteness check.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';

interface Entry { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }

export async function saveTensors(file: string, tensors: Map<string, tf.Tensor>): Promise<void> {
  const entries: Entry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const data = t.dataSync() as Float32Array | Int32Array;
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    entries.push({ name, shape: t.shape, dtype: t.dtype === 'int32' ? 'int32' : 'float32', offset, length: data.length });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const sha256 = chunks.reduce((h, c) => h.update(c), createHash('sha256')).digest('hex');
  const header = Buffer.from(JSON.stringify({ version: 2, sha256, tensors: entries }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);
  await writeFileAtomic(file, Buffer.concat([len, header, ...chunks]));
}

/** Reads a file written by saveTensors; the caller owns (and disposes) the tensors. */
export async function loadTensors(file: string): Promise<Map<string, tf.Tensor>> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch {
    throw new UserError(`${file}: checkpoint not found`);
  }
  const bad = (why: string): never => { throw new UserError(`${file}: not a hetsplit checkpoint (${why})`); };
  if (buf.byteLength < 4) bad('too short');
  const hlen = buf.readUInt32LE(0);
  if (4 + hlen > buf.byteLength) bad('header runs past the end');
  type Header = Entry[] | { version: number; sha256: string; tensors: Entry[] };
  let parsed: Header | null = null;
  try { parsed = JSON.parse(buf.subarray(4, 4 + hlen).toString('utf8')) as Header; } catch { bad('header is not JSON'); }
  if (parsed === null || typeof parsed !== 'object') return bad('header is not a tensor list');
  const header: Header = parsed;
  const entries = Array.isArray(header) ? header : header.tensors;
  if (!Array.isArray(entries)) bad('header lists no tensors');
  const base = 4 + hlen;
  if (!Array.isArray(header)) {
    const sum = createHash('sha256').update(buf.subarray(base)).digest('hex');
    if (sum !== header.sha256) throw new UserError(`${file}: checksum mismatch: the file is damaged (restore it, or rerun the phase that wrote it)`);
  }
  const out = new Map<string, tf.Tensor>();
  try {
    for (const e of entries) {
      const bytes = e.length * 4;
      if (base + e.offset + bytes > buf.byteLength) bad(`tensor ${e.name} runs past the end`);
      const copy = new Uint8Array(bytes);
      copy.set(buf.subarray(base + e.offset, base + e.offset + bytes));
      const data = e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
      if (data instanceof Float32Array) {
        const i = data.findIndex((v) => !Number.isFinite(v));
        if (i >= 0) throw new UserError(`${file}: tensor ${e.name} holds a non-finite value (${data[i]} at index ${i}); refusing to use it`);
      }
      out.set(e.name, tf.tensor(data, e.shape, e.dtype));
    }
  } catch (err) {
    tf.dispose([...out.values()]);
    throw err;
  }
  return out;
}

/** Assigns loaded values to variables by name; every variable must be present with its shape. */
export function assignAll(file: string, vars: Map<string, tf.Variable>, values: Map<string, tf.Tensor>, prefix = ''): void {
  for (const [name, v] of vars) {
    const t = values.get(prefix + name);
    if (!t) throw new UserError(`${file}: no tensor '${prefix + name}' (the checkpoint belongs to another model or platform)`);
    if (t.shape.join() !== v.shape.join()) throw new UserError(`${file}: '${prefix + name}' has shape [${t.shape}], expected [${v.shape}]`);
    v.assign(t);
  }
}
