import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMATS, findCifarIn, loadCifarFrom, parseRecords } from '../../src/data/cifar.js';
import { locateCifar } from '../../src/data/locate.js';
import { UserError } from '../../src/util/errors.js';
import { fakeRecords, tmpDir, writeCifar10Archive, writeCifar10Dir } from '../helpers/fake_cifar.js';

const c10 = FORMATS.cifar10;

describe('CIFAR binary records', () => {
  it('parses labels and pixel planes; counts come from the size', () => {
    const set = parseRecords(fakeRecords(5, 1, 3), c10, 'x.bin');
    expect(set.n).toBe(5);
    expect(Array.from(set.labels)).toEqual([3, 0, 7, 4, 1]); // (i*7+3) % 10
    // record 2, G plane (offset 1024), pixel (y=1, x=2) -> p = 1024 + 34
    expect(set.images[2 * 3072 + 1024 + 34]).toBe((2 * 31 + (1024 + 34) * 7 + 3) & 255);
  });

  it('CIFAR-100 reads the fine label and keeps the coarse one', () => {
    const set = parseRecords(fakeRecords(4, 2, 5, 100), FORMATS.cifar100, 'train.bin');
    expect(Array.from(set.labels)).toEqual([5, 12, 19, 26]);
    expect(Array.from(set.coarseLabels!)).toEqual([5, 6, 7, 8]);
  });

  it('rejects a size that is not a whole number of records, naming the file', () => {
    expect(() => parseRecords(new Uint8Array(3073 * 2 + 5), c10, 'bad.bin'))
      .toThrow(/bad\.bin: size 6151 bytes is not a whole number of 3073-byte cifar10 records/);
  });

  it('rejects a label out of range, naming the file and record', () => {
    const buf = fakeRecords(3, 1, 0);
    buf[3073 * 2] = 10;
    expect(() => parseRecords(buf, c10, 'lbl.bin')).toThrow(/lbl\.bin: record 2 has label 10, expected 0\.\.9/);
  });
});

describe('CIFAR sources', () => {
  it('reads an extracted directory, a directory of .bin files and the .tar.gz alike', async () => {
    const root = tmpDir();
    const dir = writeCifar10Dir(root);
    const archive = await writeCifar10Archive(tmpDir());
    const a = await loadCifarFrom((await findCifarIn(root, c10))!, c10);
    const b = await loadCifarFrom((await findCifarIn(dir, c10))!, c10);
    const c = await loadCifarFrom((await findCifarIn(archive, c10))!, c10);
    for (const d of [a, b, c]) {
      expect(d.train.n).toBe(30);
      expect(d.test.n).toBe(6);
      expect(d.classNames[9]).toBe('truck');
    }
    expect(Buffer.from(c.train.images).equals(Buffer.from(a.train.images))).toBe(true);
    expect(Array.from(c.test.labels)).toEqual(Array.from(a.test.labels));
    expect(c.genuineTestRecords).toBeNull();
  });

  it('names a missing file of an incomplete directory', async () => {
    const dir = writeCifar10Dir(tmpDir());
    truncateSync(path.join(dir, 'data_batch_3.bin'), 100);
    await expect(loadCifarFrom({ kind: 'dir', dir }, c10)).rejects.toThrow(/data_batch_3\.bin: size 100 bytes/);
    const dir2 = tmpDir();
    writeFileSync(path.join(dir2, 'data_batch_1.bin'), fakeRecords(1, 1, 0));
    await expect(findCifarIn(dir2, c10)).rejects.toThrow(/missing data_batch_2\.bin/);
  });

  it('decodes unchanged files once per process; a rewritten file is read again', async () => {
    const dir = writeCifar10Dir(tmpDir());
    const a = await loadCifarFrom({ kind: 'dir', dir }, c10);
    const b = await loadCifarFrom({ kind: 'dir', dir }, c10);
    expect(b).toBe(a); // the same decoded object, not a second decode
    // Same size, other content (label 9 -> 5 in the first test record): the new data.
    writeFileSync(path.join(dir, 'test_batch.bin'), fakeRecords(6, 1, 5));
    const c = await loadCifarFrom({ kind: 'dir', dir }, c10);
    expect(c).not.toBe(a);
    expect(c.test.labels[0]).toBe(5);
    expect(a.test.labels[0]).toBe(9);
    // A load that failed is not kept: the repaired file loads.
    truncateSync(path.join(dir, 'data_batch_2.bin'), 100);
    await expect(loadCifarFrom({ kind: 'dir', dir }, c10)).rejects.toThrow(/data_batch_2\.bin: size 100 bytes/);
    writeFileSync(path.join(dir, 'data_batch_2.bin'), fakeRecords(6, 1, 2));
    expect((await loadCifarFrom({ kind: 'dir', dir }, c10)).train.n).toBe(30);
  });

  it('a corrupt archive is a one-line input error naming it', async () => {
    const root = tmpDir();
    const bad = path.join(root, 'cifar-10-binary.tar.gz');
    writeFileSync(bad, 'not gzip at all');
    const err = await loadCifarFrom({ kind: 'archive', file: bad }, c10).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/cifar-10-binary\.tar\.gz: not a readable \.tar\.gz/);
  });
});

describe('where data is looked for', () => {
  it('--data wins over HETSPLIT_DATA, which wins over ./datasets', async () => {
    const cwd = tmpDir();
    mkdirSync(path.join(cwd, 'datasets'));
    writeCifar10Dir(path.join(cwd, 'datasets'), 2);
    const envDir = tmpDir();
    writeCifar10Dir(envDir, 3);
    const flagDir = tmpDir();
    writeCifar10Dir(flagDir, 4);
    const env = { HETSPLIT_DATA: envDir };
    expect((await locateCifar({ dataset: 'cifar10', cwd, env, data: flagDir })).train.n).toBe(20);
    expect((await locateCifar({ dataset: 'cifar10', cwd, env })).train.n).toBe(15);
    expect((await locateCifar({ dataset: 'cifar10', cwd, env: {} })).train.n).toBe(10);
  });

  it('an explicit --data without data is an error, not a fallback', async () => {
    await expect(locateCifar({ dataset: 'cifar10', cwd: tmpDir(), env: {}, data: tmpDir() }))
      .rejects.toThrow(/--data .*: no cifar10 data there/);
  });

  it('with nothing found and no network: one line with the URL and the --data alternative', async () => {
    const cwd = path.join(tmpDir(), 'a', 'b');
    mkdirSync(cwd, { recursive: true });
    const url = 'http://127.0.0.1:9/cifar-10-binary.tar.gz';
    const err = await locateCifar({ dataset: 'cifar10', cwd, env: {}, url, quiet: true }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(url);
    expect(err.message).toContain('--data PATH');
    expect(err.message.split('\n')).toHaveLength(1);
  });
});
