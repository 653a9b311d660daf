/** `hetsplit bench` on a tiny case: the JSON it writes, the soak mode, bad flags. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../src/backend/native/addon.js';
import { findTorchPython } from '../../src/train/torch_anchor.js';
import { cli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/fake_cifar.js';

describe('hetsplit bench', () => {
  it('times a float and a search case per kernel set, with the PyTorch anchor where torch exists, and writes bench.json', async () => {
    const out = path.join(tmpDir(), 'bench.json');
    const r = await cli('bench', '--cases', 'float-tinycnn', 'diana-search-tinycnn', '--batch', '4', '--warmup', '1', '--steps', '3', '--out', out);
    expect(r.stderr).not.toContain('hetsplit:');
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.engine).toBe('wasm');
    const { addon } = loadNative();
    const kernels = j.runs.map((x: { kernels: string }) => x.kernels);
    // hetsplit's own WebAssembly kernels run on the threaded engine (2+ threads).
    const wasm = os.availableParallelism() > 1 ? ['wasm simd128'] : [];
    expect(kernels).toEqual([...(addon ? [expect.stringMatching(/^native (avx512|avx2|baseline)$/)] : []), ...wasm, 'tfjs']);
    if (!addon) expect(r.stdout).toMatch(/kernels native: skipped \(--kernels native: native kernels not built/);
    if (findTorchPython()) {
      expect(j.torch.imgPerSec).toBeGreaterThan(0);
      expect(r.stdout).toMatch(/PyTorch .* float-resnet20 train [\d.]+ img\/s/);
    } else {
      expect(j.torch).toBeNull();
      expect(r.stdout).toMatch(/PyTorch anchor: skipped \(no Python with torch/);
    }
    const cases = j.runs.flatMap((x: { cases: unknown[] }) => x.cases);
    for (const run of j.runs) expect(run.cases.map((c: { name: string }) => c.name)).toEqual(['float-tinycnn', 'diana-search-tinycnn']);
    for (const c of cases) {
      expect(c.trainStepMs).toHaveLength(3);
      // img/s is the batch over the median step time
      const sorted = [...c.trainStepMs].sort((a: number, b: number) => a - b);
      expect(c.trainImgPerSec).toBeCloseTo(4000 / sorted[1], 6);
      expect(c.numTensorsStable).toBe(true);
    }
  });

  it('--soak samples RSS and numTensors every 50 steps and finds them flat', async () => {
    const out = path.join(tmpDir(), 'soak.json');
    const r = await cli('bench', '--soak', '120', '--cases', 'diana-search-tinycnn', '--batch', '2', '--out', out);
    expect(r.code).toBe(0);
    const s = JSON.parse(readFileSync(out, 'utf8')).soak[0];
    expect(s.samples.map((x: { step: number }) => x.step)).toEqual([1, 50, 100, 120]);
    expect(s.numTensorsFlat).toBe(true);
    expect(s.samples[0].wasmMemoryMB).toBeGreaterThan(0);
    expect(r.stdout).toContain('diana-search-tinycnn x120 steps (batch 2)');
  });

  it('bad flags are one-line errors with exit 2', async () => {
    const a = await cli('bench', '--soak', '0');
    expect(a.code).toBe(2);
    expect(a.stderr.trim()).toBe('hetsplit: --soak: expected a whole number of steps >= 1, got 0');
    const b = await cli('bench', '--cases', 'nosuch-thing', '--steps', '1', '--warmup', '0', '--out', path.join(tmpDir(), 'x.json'));
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^hetsplit: unknown (bench case|model)/);
  });
});
