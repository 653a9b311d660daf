/** Atomic file output: write a sibling temp file, then rename (never a half-written file). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from './errors.js';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOSPC') throw new UserError(`${file}: disk full, nothing written`);
    if (err.code === 'EACCES' || err.code === 'EROFS') throw new UserError(`${file}: cannot write (${err.code})`);
    throw e;
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Copies `src` to `dest` through a temp file and a rename: a kill leaves no partial copy. */
export async function copyFileAtomic(src: string, dest: string): Promise<void> {
  await writeFileAtomic(dest, await fs.readFile(src));
}

/**
 * JSON of any size, written atomically: serialised piece by piece into the temp file (a
 * number array on one line, everything else indented), so no single string has to hold
 * the document (JSON.stringify stops at V8's ~512 MB string limit: a large model's weights).
 * The result parses to the same value as JSON.stringify's.
 */
export async function writeJsonStreamAtomic(file: string, value: unknown): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fh: fs.FileHandle | null = null;
  try {
    await fs.mkdir(dir, { recursive: true });
    fh = await fs.open(tmp, 'w');
    const out = fh;
    let buf = '';
    const flush = async () => { if (buf) { await out.write(buf); buf = ''; } };
    const emit = async (v: unknown, indent: string): Promise<void> => {
      if (buf.length > 1 << 20) await flush();
      const numeric = ArrayBuffer.isView(v) && !(v instanceof DataView)
        || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number'));
      if (numeric) {
        const a = v as ArrayLike<number>;
        buf += '[';
        for (let i = 0; i < a.length; i++) {
          buf += (i ? ',' : '') + JSON.stringify(a[i]);
          if (buf.length > 1 << 20) await flush();
        }
        buf += ']';
        return;
      }
      const inner = indent + '  ';
      if (Array.isArray(v)) {
        if (v.length === 0) { buf += '[]'; return; }
        buf += '[\n';
        for (let i = 0; i < v.length; i++) {
          buf += inner;
          await emit(v[i] === undefined || typeof v[i] === 'function' ? null : v[i], inner);
          buf += i + 1 < v.length ? ',\n' : '\n';
        }
        buf += indent + ']';
        return;
      }
      if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
        const entries = Object.entries(v).filter(([, x]) => x !== undefined && typeof x !== 'function');
        if (entries.length === 0) { buf += '{}'; return; }
        buf += '{\n';
        for (let i = 0; i < entries.length; i++) {
          buf += `${inner}${JSON.stringify(entries[i]![0])}: `;
          await emit(entries[i]![1], inner);
          buf += i + 1 < entries.length ? ',\n' : '\n';
        }
        buf += indent + '}';
        return;
      }
      buf += JSON.stringify(v) ?? 'null';
    };
    await emit(value, '');
    buf += '\n';
    await flush();
    await out.close();
    fh = null;
    await fs.rename(tmp, file);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOSPC') throw new UserError(`${file}: disk full, nothing written`);
    if (err.code === 'EACCES' || err.code === 'EROFS') throw new UserError(`${file}: cannot write (${err.code})`);
    throw e;
  }
}
