/** A PNG grid of CIFAR images (rows = classes), to eyeball that data decodes correctly. */
import { PNG } from 'pngjs';
import type { CifarData, ImageSet } from './cifar.js';

/** Picks up to `perClass` images of each of the first `classes` classes, in file order. */
export function pickPerClass(set: ImageSet, classes: number, perClass: number): number[][] {
  const rows: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < set.n; i++) {
    const l = set.labels[i];
    if (l < classes && rows[l].length < perClass) rows[l].push(i);
  }
  return rows;
}

export function previewPng(data: CifarData, split: 'train' | 'test', perClass: number, scale: number): Buffer {
  const set = data[split];
  const classes = Math.min(10, data.format.numClasses);
  const rows = pickPerClass(set, classes, perClass);
  const gap = 2, cell = 32 * scale + gap;
  const png = new PNG({ width: perClass * cell + gap, height: classes * cell + gap });
  png.data.fill(255);
  rows.forEach((row, r) => row.forEach((src, c) => {
    for (let y = 0; y < 32 * scale; y++) {
      for (let x = 0; x < 32 * scale; x++) {
        const p = ((r * cell + gap + y) * png.width + c * cell + gap + x) * 4;
        const sp = src * 3072 + Math.floor(y / scale) * 32 + Math.floor(x / scale);
        png.data[p] = set.images[sp];
        png.data[p + 1] = set.images[sp + 1024];
        png.data[p + 2] = set.images[sp + 2048];
        png.data[p + 3] = 255;
      }
    }
  }));
  return PNG.sync.write(png);
}
