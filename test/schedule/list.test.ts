import { describe, expect, it } from 'vitest';
import { planLayers } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { listSchedule, schedule, type Policy, type Task } from '../../src/schedule/list.js';

const POLICIES: Policy[] = ['eft', 'etf', 'heft'];

function checkValid(tasks: Task[], slots: { task: Task; start: number; end: number }[]) {
  const end = new Map(slots.map((s) => [s.task.id, s.end]));
  expect(slots).toHaveLength(tasks.length);
  for (const s of slots) {
    for (const d of s.task.deps) expect(s.start).toBeGreaterThanOrEqual(end.get(d)!); // dependencies respected
    expect(s.end - s.start).toBeCloseTo(s.task.cycles, 6);
  }
  const byCu = new Map<number, typeof slots>();
  for (const s of slots) byCu.set(s.task.cu, [...(byCu.get(s.task.cu) ?? []), s]);
  for (const list of byCu.values()) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.start).toBeGreaterThanOrEqual(sorted[i - 1]!.end); // one task at a time per CU
  }
}

describe('list scheduling', () => {
  it('a hand-made residual block overlaps its branches on different CUs', () => {
    // a (CU0, 10) -> b (CU0, 10) -> add; a -> proj (CU1, 8) -> add; then c (CU1, 5) after the add
    const t = (id: string, cu: number, cycles: number, deps: string[]): Task => ({ id, layer: id, cu, channels: 1, cycles, deps });
    const tasks = [t('a', 0, 10, []), t('b', 0, 10, ['a']), t('proj', 1, 8, ['a']), t('c', 1, 5, ['b', 'proj'])];
    for (const p of POLICIES) {
      const s = listSchedule(tasks, 2, p);
      checkValid(tasks, s.slots);
      // proj runs on CU1 while b runs on CU0: 10 + max(10, 8) + 5 = 25, not the sum of layers 10 + 10 + 8 + 5 = 33
      expect(s.makespan).toBe(25);
      expect(s.busy).toEqual([20, 13]);
    }
  });

  it('a chain equals the per-layer-sum model; ResNet20 with projections on another CU beats it', () => {
    const p = loadPlatform('diana');
    const spec = buildModel('resnet20');
    const plans = planLayers(p, geometry(spec), 'resnet20');
    // everything on digital: a chain on one CU, makespan = layer sum
    const allDigital = spec.layers.map((l) => [l.cout, 0]);
    for (const pol of POLICIES) {
      const s = schedule(p, spec, plans, allDigital, pol);
      expect(s.makespan).toBeCloseTo(s.layerSum, 6);
    }
    // projections on analog, the rest on digital: the projections overlap the block convs
    const split = spec.layers.map((l) => (l.name.endsWith('.proj') ? [0, l.cout] : [l.cout, 0]));
    for (const pol of POLICIES) {
      const s = schedule(p, spec, plans, split, pol);
      expect(s.makespan).toBeLessThan(s.layerSum);
      checkValid(s.slots.map((x) => x.task), s.slots);
    }
  });
});

describe('hetsplit schedule (CLI)', () => {
  it('writes schedule.json and a timeline for a finished run', async () => {
    const { cli } = await import('../helpers/cli.js');
    const { tmpDir, writeCifar10Dir } = await import('../helpers/fake_cifar.js');
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const data = tmpDir();
    writeCifar10Dir(data, 40);
    const run = path.join(tmpDir(), 'run');
    expect((await cli('train', '--platform', 'diana', '--model', 'tinycnn', '--data', data, '--batch', '32', '--val-size', '40',
      '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '0', '--out', run)).code).toBe(0);
    const r = await cli('schedule', run, '--policy', 'eft', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const metrics = JSON.parse(readFileSync(path.join(run, 'metrics.json'), 'utf8'));
    expect(j.layerSum.cycles).toBeCloseTo(metrics.latencyCycles, 6);
    expect(j.endToEnd.cycles).toBeLessThanOrEqual(j.layerSum.cycles + 1e-6);
    expect(readFileSync(path.join(run, 'timeline.png')).subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);
});
