/** Command-line parsing shared by every command: repeated flags, variadic positionals. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/fake_cifar.js';

/** A finished run as `train` leaves it, as far as `pareto` reads it. */
function fakeRun(dir: string, acc: number, cycles: number, energyMJ: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ seed: 1 }));
  writeFileSync(path.join(dir, 'metrics.json'), JSON.stringify({
    testAccuracy: acc, valAccuracy: acc, latencyCycles: cycles, latencyMs: cycles / 260e3, energyMJ,
    lambda: 1, target: 'latency', platform: 'diana', model: 'resnet20',
  }));
  return dir;
}

describe('command-line parsing', () => {
  it('a variadic positional keeps every value, and a repeated flag keeps its last value', async () => {
    const root = tmpDir();
    const a = fakeRun(path.join(root, 'a'), 0.8, 200_000, 0.02);
    const b = fakeRun(path.join(root, 'b'), 0.7, 100_000, 0.03);
    const c = fakeRun(path.join(root, 'c'), 0.6, 150_000, 0.01);
    const out = path.join(root, 'front');
    const r = await cli('pareto', a, b, c, '--objective', 'energy', '--objective', 'latency', '--out', out, '--no-plots');
    expect(r.code).toBe(0);
    const f = JSON.parse(readFileSync(path.join(out, 'front.json'), 'utf8'));
    expect(f.objective).toBe('latency');
    expect(f.rows.map((x: { run: string }) => x.run)).toEqual(['a', 'b', 'c']);
    // on latency, c (0.6 at 150k) is dominated by b (0.7 at 100k); on energy it would not be
    expect(f.rows.map((x: { onFront: boolean }) => x.onFront)).toEqual([true, true, false]);
  });

  it('a repeated numeric or choice flag is a scalar, not an array', async () => {
    const r = await cli('cost', '--platform', 'darkside', '--platform', 'diana', '--model', 'resnet8', '--model', 'resnet20', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.platform, j.model]).toEqual(['diana', 'resnet20']);
    const bad = await cli('cost', '--platform', 'diana', '--platform', 'nope', '--model', 'resnet20');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/nope/);
  });
});
