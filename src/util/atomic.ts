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
