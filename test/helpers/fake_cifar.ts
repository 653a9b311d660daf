/** Writes small CIFAR files in the official binary format, with known contents. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { create } from 'tar';

export function fakeRecords(n: number, labelBytes: number, seed: number, numClasses = 10): Buffer {
  const rec = labelBytes + 3072;
  const buf = Buffer.alloc(n * rec);
  for (let i = 0; i < n; i++) {
    if (labelBytes === 2) buf[i * rec] = (i + seed) % 20;
    buf[i * rec + labelBytes - 1] = (i * 7 + seed) % numClasses;
    for (let p = 0; p < 3072; p++) buf[i * rec + labelBytes + p] = (i * 31 + p * 7 + seed) & 255;
  }
  return buf;
}

export function tmpDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'hetsplit-test-'));
}

/** root/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin with `perFile` records each. */
export function writeCifar10Dir(root: string, perFile = 6): string {
  const dir = path.join(root, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= 5; i++) writeFileSync(path.join(dir, `data_batch_${i}.bin`), fakeRecords(perFile, 1, i));
  writeFileSync(path.join(dir, 'test_batch.bin'), fakeRecords(perFile, 1, 9));
  writeFileSync(path.join(dir, 'batches.meta.txt'),
    'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
  return dir;
}

export async function writeCifar10Archive(root: string, name = 'cifar-10-binary.tar.gz', perFile = 6): Promise<string> {
  const src = tmpDir();
  writeCifar10Dir(src, perFile);
  const file = path.join(root, name);
  await create({ gzip: true, file, cwd: src }, ['cifar-10-batches-bin']);
  return file;
}
