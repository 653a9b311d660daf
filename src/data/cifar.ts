/**
 * CIFAR-10 / CIFAR-100 in the official binary format.
 *   CIFAR-10 record:  1 label byte            + 3072 pixel bytes (R, G, B planes of 32x32)
 *   CIFAR-100 record: coarse + fine label byte + 3072 pixel bytes
 * Sources: the official .tar.gz as downloaded, its extracted directory, or a directory
 * holding the .bin files. Record counts come from file sizes.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { UserError } from '../util/errors.js';

export type CifarName = 'cifar10' | 'cifar100';

export interface CifarFormat {
  name: CifarName;
  labelBytes: number;
  numClasses: number;
  /** Byte offset, inside the label bytes, of the label we train on (CIFAR-100: fine). */
  labelOffset: number;
  dirName: string;
  trainFiles: string[];
  testFiles: string[];
  metaFile: string;
  archiveUrl: string;
  archiveName: string;
}

export const PIXELS = 3072;

export const FORMATS: Record<CifarName, CifarFormat> = {
  cifar10: {
    name: 'cifar10', labelBytes: 1, numClasses: 10, labelOffset: 0, dirName: 'cifar-10-batches-bin',
    trainFiles: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), testFiles: ['test_batch.bin'],
    metaFile: 'batches.meta.txt',
    archiveUrl: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', archiveName: 'cifar-10-binary.tar.gz',
  },
  cifar100: {
    name: 'cifar100', labelBytes: 2, numClasses: 100, labelOffset: 1, dirName: 'cifar-100-binary',
    trainFiles: ['train.bin'], testFiles: ['test.bin'], metaFile: 'fine_label_names.txt',
    archiveUrl: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz', archiveName: 'cifar-100-binary.tar.gz',
  },
};

/** Images as stored (CHW planes per record, uint8) plus labels. */
export interface ImageSet {
  n: number;
  images: Uint8Array; // n * 3072, R plane, G plane, B plane per image
  labels: Uint8Array; // n
  /** For CIFAR-100: the coarse labels. */
  coarseLabels?: Uint8Array;
}

export interface CifarData {
  format: CifarFormat;
  source: string;
  classNames: string[];
  train: ImageSet;
  test: ImageSet;
  /** Number of leading test records with genuine (non re-encoded) pixels, when known. */
  genuineTestRecords: number | null;
}

/**
 * Archives known to carry partly re-encoded pixels: the first records of test_batch are
 * genuine (see the archive's README.txt).
 */
const KNOWN_GENUINE_PREFIX: Record<string, number> = {
  'cifar-10-jpeg-derived-binary.tar.gz': 1017,
};

/** Parses the records of one .bin file; `file` names it in errors. */
export function parseRecords(buf: Uint8Array, format: CifarFormat, file: string): ImageSet {
  const rec = format.labelBytes + PIXELS;
  if (buf.length === 0 || buf.length % rec !== 0) {
    throw new UserError(`${file}: size ${buf.length} bytes is not a whole number of ${rec}-byte ${format.name} records`);
  }
  const n = buf.length / rec;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  const coarse = format.labelBytes > 1 ? new Uint8Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const off = i * rec;
    const label = buf[off + format.labelOffset];
    if (label >= format.numClasses) {
      throw new UserError(`${file}: record ${i} has label ${label}, expected 0..${format.numClasses - 1}`);
    }
    labels[i] = label;
    if (coarse) {
      coarse[i] = buf[off];
      if (coarse[i] >= 20) throw new UserError(`${file}: record ${i} has coarse label ${coarse[i]}, expected 0..19`);
    }
    images.set(buf.subarray(off + format.labelBytes, off + rec), i * PIXELS);
  }
  return { n, images, labels, coarseLabels: coarse };
}

function concatSets(sets: ImageSet[]): ImageSet {
  const n = sets.reduce((a, s) => a + s.n, 0);
  const images = new Uint8Array(n * PIXELS);
  const labels = new Uint8Array(n);
  const hasCoarse = sets.every((s) => s.coarseLabels);
  const coarse = hasCoarse ? new Uint8Array(n) : undefined;
  let k = 0;
  for (const s of sets) {
    images.set(s.images, k * PIXELS);
    labels.set(s.labels, k);
    if (coarse) coarse.set(s.coarseLabels!, k);
    k += s.n;
  }
  return { n, images, labels, coarseLabels: coarse };
}

/** Reads the named members of a .tar.gz into memory (members are matched by base name). */
export async function readTarGzMembers(archive: string, wanted: Set<string>): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const base = path.posix.basename(entry.path);
        if (entry.type === 'File' && wanted.has(base)) {
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => found.set(base, Buffer.concat(chunks)));
        } else {
          entry.resume();
        }
      },
    });
    const input = createReadStream(archive);
    const gunzip = createGunzip();
    const fail = (e: Error) => reject(new UserError(`${archive}: not a readable .tar.gz (${e.message})`));
    input.on('error', fail);
    gunzip.on('error', fail);
    parser.on('error', fail);
    parser.on('end', () => resolve());
    input.pipe(gunzip).pipe(parser);
  });
  return found;
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isDirectory(), () => false);
}

/** Where the .bin files of `format` are in `location`, if anywhere. */
export async function findCifarIn(location: string, format: CifarFormat):
    Promise<{ kind: 'dir'; dir: string } | { kind: 'archive'; file: string } | null> {
  const required = [...format.trainFiles, ...format.testFiles];
  if (await isFile(location)) {
    return location.endsWith('.tar.gz') || location.endsWith('.tgz') ? { kind: 'archive', file: location } : null;
  }
  if (!(await isDir(location))) return null;
  for (const dir of [location, path.join(location, format.dirName)]) {
    const present = await Promise.all(required.map((f) => isFile(path.join(dir, f))));
    if (present.every(Boolean)) return { kind: 'dir', dir };
    if (present.some(Boolean)) {
      const missing = required.filter((_, i) => !present[i]);
      throw new UserError(`${dir}: incomplete ${format.name} directory, missing ${missing.join(', ')}`);
    }
  }
  const entries = await fs.readdir(location);
  const archives = entries.filter((e) => /\.(tar\.gz|tgz)$/.test(e))
    .filter((e) => e.includes(format.name === 'cifar10' ? 'cifar-10' : 'cifar-100'))
    .sort((a, b) => Number(b === format.archiveName) - Number(a === format.archiveName) || a.localeCompare(b));
  return archives.length ? { kind: 'archive', file: path.join(location, archives[0]) } : null;
}

type Found = { kind: 'dir'; dir: string } | { kind: 'archive'; file: string };

/**
 * The last dataset decoded in this process, by the identity of its files (path, size,
 * mtime, inode): a sweep trains its points in one process, and they decode the data once
 * (about 3.5 s a point for the CIFAR-10 archive). Nothing writes into a loaded set.
 */
let lastLoaded: { key: string; data: Promise<CifarData> } | null = null;

async function filesIdentity(found: Found, format: CifarFormat): Promise<string> {
  const files = found.kind === 'archive' ? [found.file]
    : [...format.trainFiles, ...format.testFiles, format.metaFile].map((f) => path.join(found.dir, f));
  const stats = await Promise.all(files.map((f) => fs.stat(f, { bigint: true })
    .then((s) => `${f}:${s.size}:${s.mtimeNs}:${s.ino}`, () => `${f}:absent`)));
  return [format.name, ...stats].join('|');
}

/**
 * Loads a CIFAR dataset from a directory or archive found by `findCifarIn`; the same
 * unchanged files a second time in one process give the data already decoded.
 */
export async function loadCifarFrom(found: Found, format: CifarFormat): Promise<CifarData> {
  const key = await filesIdentity(found, format);
  if (lastLoaded?.key === key) return lastLoaded.data;
  const data = decodeCifar(found, format);
  lastLoaded = { key, data };
  data.catch(() => { if (lastLoaded?.data === data) lastLoaded = null; });
  return data;
}

async function decodeCifar(found: Found, format: CifarFormat): Promise<CifarData> {
  const names = [...format.trainFiles, ...format.testFiles];
  let read: (name: string) => Promise<Buffer>;
  let metaText: string | null = null;
  let source: string;
  if (found.kind === 'dir') {
    source = found.dir;
    read = (name) => fs.readFile(path.join(found.dir, name));
    metaText = await fs.readFile(path.join(found.dir, format.metaFile), 'utf8').catch(() => null);
  } else {
    source = found.file;
    const members = await readTarGzMembers(found.file, new Set([...names, format.metaFile]));
    const missing = names.filter((n) => !members.has(n));
    if (missing.length) throw new UserError(`${found.file}: archive lacks ${missing.join(', ')} (is it ${format.archiveName}?)`);
    read = async (name) => members.get(name)!;
    metaText = members.get(format.metaFile)?.toString('utf8') ?? null;
  }
  const where = (f: string) => (found.kind === 'dir' ? path.join(found.dir, f) : `${found.file}:${f}`);
  const train = concatSets(await Promise.all(format.trainFiles.map(async (f) => parseRecords(await read(f), format, where(f)))));
  const test = concatSets(await Promise.all(format.testFiles.map(async (f) => parseRecords(await read(f), format, where(f)))));
  const classNames = metaText?.split(/\r?\n/).map((s) => s.trim()).filter(Boolean) ?? [];
  return {
    format, source, train, test,
    classNames: classNames.length === format.numClasses ? classNames
      : Array.from({ length: format.numClasses }, (_, i) => `class${i}`),
    genuineTestRecords: found.kind === 'archive' ? KNOWN_GENUINE_PREFIX[path.basename(found.file)] ?? null : null,
  };
}
