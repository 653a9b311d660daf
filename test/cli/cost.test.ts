import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

describe('hetsplit cost', () => {
  it('prints the documented JSON shape', async () => {
    const r = await cli('cost', '--platform', 'diana', '--model', 'resnet20', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.platform).toBe('diana');
    expect(j.model).toBe('resnet20');
    expect(j.layers).toHaveLength(22);
    expect(Object.keys(j.layers[0]).slice(0, 11)).toEqual(['name', 'kind', 'cin', 'cout', 'kx', 'ky', 'h', 'w', 'stride', 'groups', 'searchable']);
    expect(j.layers[0].allOn.digital.cycles).toBe(4160);
    expect(Object.keys(j.totals)).toEqual(['all:digital', 'all:analog', 'min-latency']);
    for (const t of Object.values(j.totals) as { cycles: number; ms: number; energyMJ: number }[]) {
      expect(t.ms).toBeCloseTo(t.cycles / 260e6 * 1e3, 9);
      expect(t.energyMJ).toBeGreaterThan(0);
    }
    // network totals are the sums of the per-layer costs when every layer is on one CU
    const sum = j.layers.reduce((s: number, l: { allOn: { digital: { cycles: number } } }) => s + l.allOn.digital.cycles, 0);
    expect(j.totals['all:digital'].cycles).toBeCloseTo(sum, 6);
  });

  it.each([['diana', 'resnet8'], ['diana', 'mobilenetv1'], ['darkside', 'resnet20'], ['darkside', 'mobilenetv1'], ['diana-riscv', 'resnet20']])(
    'works for %s / %s, as CSV with one row per layer', async (platform, model) => {
      const r = await cli('cost', '--platform', platform, '--model', model, '--csv');
      expect(r.code).toBe(0);
      const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
      expect(rows.length).toBeGreaterThan(5);
      expect(rows[0]).toHaveProperty('name');
      expect(rows[0]).toHaveProperty('searchable');
    });

  it('prints a table by default', async () => {
    const r = await cli('cost', '--platform', 'darkside', '--model', 'mobilenetv1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/all:dwe +[\d,]+ cycles/);
    expect(r.stdout).toMatch(/split layers: cluster computes its channels as a standard conv/);
  });

  it.each([
    [['cost', '--platform', 'tpu'], /unknown platform 'tpu'/],
    [['cost', '--model', 'vgg'], /--model vgg: not a built-in model \(resnet20, .*\) and no such file or directory/],
    [['cost', '--json', '--csv'], /mutually exclusive/],
    [['cost', '--classes', '0'], /--classes: expected a positive integer/],
    [['cost', '--frobnicate'], /Unknown argument/],
  ])('rejects %j with one line and exit code 2', async (argv, msg) => {
    const r = await cli(...(argv as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
