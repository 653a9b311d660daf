/**
 * Budget mode and the hard relaxation: the exact knapsack against brute force, the
 * projection onto a budget, the per-step schedules, the Lagrange multiplier, the hard
 * forward pass (= the discrete network) with its straight-through gradient, and a tiny
 * end-to-end search that lands on its budget.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../src/backend/engine.js';
import { cheapestCost, costOf, countOptions, countsUnderBudget, maxPreciseCounts, networkObjective, uniformCounts } from '../../src/hw/budget.js';
import { planLayers, referenceMappings } from '../../src/hw/cost.js';
import { loadPlatform } from '../../src/hw/platform.js';
import { initParams } from '../../src/models/params.js';
import { Rng } from '../../src/models/rng.js';
import { geometry } from '../../src/models/spec.js';
import { buildModel } from '../../src/models/zoo.js';
import { SearchModel } from '../../src/search/model.js';
import { projectToBudget } from '../../src/search/projection.js';
import { ternaryWeightQuant } from '../../src/quant/quantizers.js';
import { LagrangeMultiplier } from '../../src/train/budget.js';
import { Run } from '../../src/train/run.js';
import { locateCifar } from '../../src/data/locate.js';
import { alphaLr, lrAt, temperatureAt, weightLrAt } from '../../src/train/schedule.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

let dataRoot = '';
beforeAll(async () => {
  await initEngine('wasm');
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 80);
});

const p = loadPlatform('diana');
const spec = buildModel('tinycnn');
const plans = planLayers(p, geometry(spec), 'tinycnn');

describe('countsUnderBudget: exact knapsack over the layers\' count tables', () => {
  it('finds the brute-force optimum (tinycnn on DIANA, random values, several budgets)', () => {
    const rng = new Rng(5);
    const opts = plans.map((plan) => countOptions(p, plan));
    const vals = opts.map((o) => o.map(() => rng.next()));
    const costs = opts.map((o, l) => o.map((c) => costOf(p, plans[l]!, c, 'latency')));
    const lo = cheapestCost(p, plans, 'latency');
    const hi = Math.max(...referenceMappings(p, plans).map((m) => m.cost.cycles));
    for (const frac of [0.02, 0.3, 0.7, 1]) {
      const budget = lo + frac * (hi - lo);
      // brute force over every combination of per-layer options
      let best = -Infinity;
      const walk = (l: number, c: number, v: number): void => {
        if (c > budget) return;
        if (l === plans.length) { best = Math.max(best, v); return; }
        opts[l]!.forEach((_, k) => walk(l + 1, c + costs[l]![k]!, v + vals[l]![k]!));
      };
      walk(0, 0, 0);
      const got = countsUnderBudget(p, plans, 'latency', budget, (l, counts) => vals[l]![opts[l]!.findIndex((o) => o.join() === counts.join())]!)!;
      expect(networkObjective(p, plans, got, 'latency')).toBeLessThanOrEqual(budget);
      const v = got.reduce((s, counts, l) => s + vals[l]![opts[l]!.findIndex((o) => o.join() === counts.join())]!, 0);
      expect(v).toBeCloseTo(best, 9);
    }
  });

  it('returns null below the cheapest mapping', () => {
    expect(countsUnderBudget(p, plans, 'energy', cheapestCost(p, plans, 'energy') * 0.99, () => 0)).toBeNull();
  });

  it('picks what the plain programme picks (every pair sorted, then pruned), ties included (resnet8, both objectives)', () => {
    // The plain programme: all (state, option) pairs within the budget, stable-sorted by
    // cost ↑ then value ↓, a pair kept when its value beats every pair before it.
    const plain = (pl: typeof plans, objective: 'latency' | 'energy', budget: number, value: (l: number, c: number[]) => number) => {
      type S = { cost: number; value: number; prev: number; option: number };
      const opts = pl.map((plan) => countOptions(p, plan));
      let front: S[] = [{ cost: 0, value: 0, prev: -1, option: -1 }];
      const fronts: S[][] = [];
      pl.forEach((plan, l) => {
        const next: S[] = [];
        front.forEach((st, i) => opts[l]!.forEach((c, k) => {
          const cost = st.cost + costOf(p, plan, c, objective);
          if (cost <= budget) next.push({ cost, value: st.value + value(l, c), prev: i, option: k });
        }));
        next.sort((a, b) => a.cost - b.cost || b.value - a.value);
        front = next.filter(function (this: { best: number }, st) { return st.value > this.best ? ((this.best = st.value), true) : false; }, { best: -Infinity });
        fronts.push(front);
      });
      if (!front.length) return null;
      let i = front.length - 1;
      return pl.map((_, l) => pl.length - 1 - l).map((l) => { const st = fronts[l]![i]!; i = st.prev; return [l, opts[l]![st.option]!] as const; })
        .sort((a, b) => a[0] - b[0]).map((x) => x[1]);
    };
    const r8 = buildModel('resnet8');
    const pl = planLayers(p, geometry(r8), 'resnet8');
    const rng = new Rng(11);
    for (const objective of ['latency', 'energy'] as const) {
      const lo = cheapestCost(p, pl, objective);
      const hi = Math.max(...referenceMappings(p, pl).map((m) => (objective === 'latency' ? m.cost.cycles : m.cost.energyMJ)));
      for (const levels of [3, 0]) { // 3: many equal values; 0: continuous
        const table = new Map<string, number>();
        const value = (l: number, c: number[]) => {
          const key = `${l}:${c.join()}`;
          if (!table.has(key)) table.set(key, levels ? Math.floor(rng.next() * levels) : rng.next());
          return table.get(key)!;
        };
        for (const frac of [0, 0.05, 0.4, 0.9, 1.1]) {
          const budget = lo + frac * (hi - lo);
          expect(countsUnderBudget(p, pl, objective, budget, value)).toEqual(plain(pl, objective, budget, value));
        }
      }
    }
  });
});

describe('maxPreciseCounts: the most channels on the precise CUs under a budget', () => {
  it('matches brute force over every count combination (tinycnn on DIANA, several budgets), and null below the cheapest', () => {
    const opts = plans.map((plan) => countOptions(p, plan));
    const costs = opts.map((o, l) => o.map((c) => costOf(p, plans[l]!, c, 'latency')));
    // digital is DIANA's precise CU (index 0): it can run every layer
    const lo = cheapestCost(p, plans, 'latency');
    const hi = Math.max(...referenceMappings(p, plans).map((m) => m.cost.cycles));
    for (const frac of [0, 0.1, 0.5, 0.9, 1]) {
      const budget = lo + frac * (hi - lo);
      let best = -1;
      const walk = (l: number, c: number, v: number): void => {
        if (c > budget) return;
        if (l === plans.length) { best = Math.max(best, v); return; }
        opts[l]!.forEach((o, k) => walk(l + 1, c + costs[l]![k]!, v + o[0]!));
      };
      walk(0, 0, 0);
      const got = maxPreciseCounts(p, plans, 'latency', budget)!;
      expect(got.precise).toBe(best);
      expect(got.counts.reduce((s, c) => s + c[0]!, 0)).toBe(best);
      expect(got.cost).toBe(networkObjective(p, plans, got.counts, 'latency'));
      expect(got.cost).toBeLessThanOrEqual(budget);
    }
    expect(maxPreciseCounts(p, plans, 'latency', lo * 0.99)).toBeNull();
  });
});

describe('uniformCounts: the same fraction of every split layer on the precise CU', () => {
  const r20 = buildModel('resnet20');
  const plans20 = planLayers(p, geometry(r20), 'resnet20');
  const digital = p.cus.findIndex((c) => c.name === 'digital');
  const allDigital = referenceMappings(p, plans20).find((m) => m.name === 'all:digital')!.cost.cycles;
  it.each([0.45, 0.6, 0.8])('ResNet20 at %s x all:digital: under the budget, one fraction everywhere, no larger fraction fits', (frac) => {
    const budget = frac * allDigital;
    const u = uniformCounts(p, plans20, 'latency', budget)!;
    expect(u.cost).toBeLessThanOrEqual(budget);
    expect(networkObjective(p, plans20, u.counts, 'latency')).toBeCloseTo(u.cost, 9);
    let split = 0;
    plans20.forEach((plan, l) => {
      const c = u.counts[l]!;
      expect(c.reduce((a, b) => a + b, 0)).toBe(plan.layer.cout);
      if (!(plan.searchable && plan.eligible.length === 2)) return;
      split++;
      expect(Math.abs(c[digital]! / plan.layer.cout - u.fraction)).toBeLessThanOrEqual(0.5 / plan.layer.cout + 1e-12);
    });
    expect(split).toBeGreaterThan(10);
    // every larger fraction (by hand, per layer) is over the budget
    for (let f = u.fraction + 1 / 4096; f <= 1; f += 1 / 4096) {
      const counts = plans20.map((plan, l) => {
        if (!(plan.searchable && plan.eligible.length === 2)) return u.counts[l]!;
        const d = Math.round(f * plan.layer.cout);
        return p.cus.map((_, i) => (i === digital ? d : plan.layer.cout - d));
      });
      expect(networkObjective(p, plans20, counts, 'latency')).toBeGreaterThan(budget);
    }
  });

  it('is all on the precise CU at its cost, and null below every fraction\'s cost', () => {
    const u = uniformCounts(p, plans20, 'latency', allDigital)!;
    expect(u.fraction).toBe(1);
    expect(uniformCounts(p, plans20, 'latency', cheapestCost(p, plans20, 'latency'))).toBeNull();
  });
});

describe('projectToBudget', () => {
  const r8 = buildModel('resnet8');
  const plans8 = planLayers(p, geometry(r8), 'resnet8');
  it.each([['latency', 0.4], ['latency', 0.5], ['latency', 0.8], ['energy', 0.6]] as const)('ResNet8, %s at %s of all:digital: within 1%% below the budget', (objective, frac) => {
    const digital = referenceMappings(p, plans8).find((m) => m.name === 'all:digital')!;
    const budget = frac * (objective === 'latency' ? digital.cost.cycles : digital.cost.energyMJ);
    const rng = new Rng(3);
    const pref = r8.layers.map((l, k) => Array.from({ length: l.cout }, () => p.cus.map((_, i) => (plans8[k]!.eligible.includes(i) ? rng.normal() : -Infinity))));
    const r = projectToBudget(p, plans8, objective, budget, pref);
    const cost = networkObjective(p, plans8, r.assignment.map((a) => p.cus.map((_, i) => a.filter((c) => c === i).length)), objective);
    expect(cost).toBeCloseTo(r.cost, 9);
    expect(cost).toBeLessThanOrEqual(budget);
    expect(cost).toBeGreaterThanOrEqual(0.99 * budget);
    r.assignment.forEach((a, k) => a.forEach((cu) => expect(plans8[k]!.eligible).toContain(cu)));
  });

  it('keeps the preferred channels on the precise CU: with the counts fixed, the channels are the top-ranked', () => {
    const lo = cheapestCost(p, plans, 'latency');
    const pref = spec.layers.map((l) => Array.from({ length: l.cout }, (_, c) => [c, 0])); // higher channel index: prefers digital (CU 0)
    const r = projectToBudget(p, plans, 'latency', lo * 1.05, pref);
    r.assignment.forEach((a, k) => {
      if (!plans[k]!.searchable) return;
      const onDigital = a.flatMap((cu, c) => (cu === 0 ? [c] : []));
      // the digital channels are the highest-indexed ones
      expect(onDigital).toEqual(onDigital.map((_, i) => a.length - onDigital.length + i));
    });
  });
});

describe('schedules and the multiplier', () => {
  it('lr warms up then decays to ~0; T goes from T0 to T_end; alpha lr from its travel', () => {
    expect(lrAt(0.1, 0, 100)).toBeCloseTo(0.02, 9); // 5 warm-up steps
    expect(lrAt(0.1, 4, 100)).toBeCloseTo(0.1, 9);
    expect(lrAt(0.1, 99, 100)).toBeLessThan(0.1 * 1e-3);
    for (let s = 5; s < 99; s++) expect(lrAt(0.1, s + 1, 100)).toBeLessThanOrEqual(lrAt(0.1, s, 100));
    expect(temperatureAt(1, 0.1, 0, 50)).toBe(1);
    expect(temperatureAt(1, 0.1, 49, 50)).toBeCloseTo(0.1, 12);
    expect(temperatureAt(1, 0.1, 24.5, 50)).toBeCloseTo(Math.sqrt(0.1), 9);
    expect(alphaLr(2, 400)).toBe(0.005);
  });

  it('lr schedule per run: one warm-up, and the fine-tune continues where the search stopped', () => {
    // 40 search steps then 60 fine-tune steps, equal peaks
    const search = (g: number, mode: 'phase' | 'run') => weightLrAt(mode, 0.1, g, 40, 0, 100, 0.05);
    const fine = (g: number, mode: 'phase' | 'run') => weightLrAt(mode, 0.1, g, 60, 40, 100, 0.05);
    for (let g = 0; g < 40; g++) expect(search(g, 'run')).toBeCloseTo(lrAt(0.1, g, 100), 12);
    for (let g = 0; g < 60; g++) expect(fine(g, 'run')).toBeCloseTo(lrAt(0.1, 40 + g, 100), 12);
    // per run: no re-warm at the boundary (the fine-tune's first lr continues the decay)
    expect(fine(0, 'run')).toBeLessThan(search(39, 'run'));
    expect(search(39, 'run') - fine(0, 'run')).toBeLessThan(0.01);
    // per phase: the fine-tune warms up again from a twentieth of its steps
    expect(search(39, 'phase')).toBeLessThan(0.1 * 1e-2);
    expect(fine(0, 'phase')).toBeCloseTo(0.1 / 3, 9);
    // a run without search (a baseline): both modes are the same schedule
    for (let g = 0; g < 60; g++) expect(weightLrAt('run', 0.1, g, 60, 0, 60, 0.05)).toBe(weightLrAt('phase', 0.1, g, 60, 0, 60, 0.05));
  });

  it('the multiplier rises while over budget and falls (not below 0) while under', () => {
    const m = new LagrangeMultiplier(0.5, 0.1, 100);
    m.update(120);
    expect(m.lambda).toBeCloseTo(0.52, 12);
    for (let i = 0; i < 100; i++) m.update(50);
    expect(m.lambda).toBe(0);
  });
});

describe('hard relaxation', () => {
  it('the forward pass is the discrete network; alpha gets the softmax gradient (straight-through)', () => {
    const float = initParams(spec, 1);
    const hard = SearchModel.fromFloat(spec, float, p, plans, { relaxation: 'hard' });
    float.dispose();
    spec.layers.forEach((l, k) => {
      if (!plans[k]!.searchable) return;
      hard.params.get(`${l.name}.alpha`).assign(tf.tensor2d(Array.from({ length: 2 }, (_, i) => Array.from({ length: l.cout }, (_, c) => Math.sin(5 * c + 3 * i + k)))));
    });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const soft = tf.tidy(() => hard.forward(x, 0.5));
    const asg = hard.discretise();
    hard.fix(asg);
    const fixed = tf.tidy(() => hard.forward(x, 1));
    expect(Array.from(soft.logits.dataSync())).toEqual(Array.from(fixed.logits.dataSync()));
    expect(Array.from(soft.counts.dataSync())).toEqual(Array.from(fixed.counts.dataSync()));
    hard.unfix();
    const alpha = [...hard.group('alpha').values()];
    const { grads } = tf.variableGrads(() => tf.sum(hard.forward(x, 0.5).logits.square()) as tf.Scalar, alpha);
    const g = grads[alpha[0]!.name]!;
    expect(Number.isFinite(tf.sum(g).dataSync()[0])).toBe(true);
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, soft.logits, soft.counts, fixed.logits, fixed.counts, ...Object.values(grads)]);
    hard.dispose();
  });

  it('calibration gives every layer of the mapped network the float network\'s per-channel output mean and std', () => {
    const float = initParams(spec, 3);
    const m = SearchModel.fromFloat(spec, float, p, plans, { relaxation: 'hard' });
    float.dispose();
    m.fix(plans.map((plan) => Array(plan.layer.cout).fill(plan.eligible.includes(1) ? 1 : 0))); // every layer it can run: analog (ternary)
    // batches of unequal size: the moments weigh each image once
    const xs = [16, 8].map((n, s) => tf.randomUniform([n, 32, 32, 3], 0, 1, 'float32', s) as tf.Tensor4D);
    const f = m.outputMoments(xs, true); // the float network, before calibration changes the weights
    // Per layer, the median over channels of the mismatch in mean and std (in units of the
    // float std); the worst layer.
    const gap = () => {
      const q = m.outputMoments(xs, false);
      let worst = 0;
      for (const [k, a] of f) {
        const b = q.get(k)!;
        const errs = Array.from(a.mean, (mu, c) => Math.max(Math.abs(mu - b.mean[c]!), Math.abs(a.std[c]! - b.std[c]!)) / (a.std[c]! + 1e-6)).sort((x, y) => x - y);
        worst = Math.max(worst, errs[Math.floor(errs.length / 2)]!);
      }
      return worst;
    };
    const before = gap();
    const tensors = tf.memory().numTensors;
    expect(m.calibrate(xs).layers).toBe(spec.layers.length);
    expect(tf.memory().numTensors).toBe(tensors); // every activation of the pass freed
    const after = gap();
    expect(before).toBeGreaterThan(0.1);
    // exact for ternary channels; 8-bit layers requantize after the scaling
    expect(after).toBeLessThan(0.02);
    tf.dispose(xs);
    m.dispose();
  });

  it("ternary 'pass' lets the weight gradient through outside the clip, 'clip' does not", () => {
    const w = tf.tensor1d([0.05, 2, -3]);
    const ls = tf.scalar(Math.log(0.1));
    const g = (pass: boolean) => Array.from(tf.grad((ww: tf.Tensor) => tf.sum(ternaryWeightQuant(ww, ls, pass)))(w).dataSync());
    expect(g(false)).toEqual([1, 0, 0]);
    expect(g(true)).toEqual([1, 1, 1]);
    tf.dispose([w, ls]);
  });
});

describe('train --budget (tiny model, generated data)', () => {
  const flags = ['--platform', 'diana', '--model', 'tinycnn', '--batch', '32', '--val-size', '80', '--data', '',
    '--epochs-warmup', '1', '--epochs-search', '2', '--epochs-finetune', '1'];
  it('lands on the budget: discrete cost within 1% below it; the multiplier is logged; resumable settings recorded', async () => {
    const f = flags.map((v) => (v === '' ? dataRoot : v));
    const dir = path.join(tmpDir(), 'b');
    // tinycnn on DIANA: between min-latency (4,789 cycles) and all:digital (4,835)
    const r = await cli('train', ...f, '--budget-latency-ms', '0.0185', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/search: warm start on the budget/);
    expect(r.stdout).toMatch(/search: projected onto the budget 0\.0185 ms/);
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const m = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(cfg.budget.spec).toBe('0.0185 ms');
    expect(cfg.budget.value).toBeCloseTo(0.0185e-3 * 260e6, 6);
    expect(cfg.target).toBe('latency');
    expect(m.latencyCycles).toBeLessThanOrEqual(cfg.budget.value);
    expect(m.latencyCycles).toBeGreaterThanOrEqual(0.99 * cfg.budget.value);
    const log = readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const rec of log.filter((x) => x.phase === 'search')) expect(rec.lagrange).toBeGreaterThanOrEqual(0);
    // the hard search and its calibration leave no tensors behind from epoch to epoch
    expect(new Set(log.filter((x) => x.phase === 'search').map((x) => x.numTensors)).size).toBe(1);
  }, 60_000);

  it('--search-forward feasible: every search epoch\'s mapping within the budget, the projection only fills it', async () => {
    const f = flags.map((v) => (v === '' ? dataRoot : v));
    const dir = path.join(tmpDir(), 'f');
    // an lr that moves α within these few steps, so the argmax wants to leave the budget
    const r = await cli('train', ...f, '--budget-latency-ms', '0.0185', '--search-forward', 'feasible', '--lr-alpha', '0.5', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.searchForward).toBe('feasible');
    // the argmax did leave the budget, and the forward mapping did not follow it out
    const over = [...r.stdout.matchAll(/the argmax mapping was over the budget after (\d+) of \d+ steps; the forward mapping kept within it \((\d+) channel move\(s\) refused\)/g)];
    expect(over).toHaveLength(2);
    expect(over.some((m) => Number(m[1]) > 0 && Number(m[2]) > 0)).toBe(true);
    const log = readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const search = log.filter((x) => x.phase === 'search');
    expect(search).toHaveLength(2);
    for (const rec of search) expect(rec.discreteCost.cycles).toBeLessThanOrEqual(cfg.budget.value * (1 + 1e-9));
    const state = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'));
    expect(state.forward).toHaveLength(spec.layers.length);
    const m = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(m.latencyCycles).toBeLessThanOrEqual(cfg.budget.value);
    expect(m.latencyCycles).toBeGreaterThanOrEqual(0.99 * cfg.budget.value);
    expect(new Set(search.map((x) => x.numTensors)).size).toBe(1);

    // interrupted after search epoch 1, resumed: the forward mapping comes back from state.json, so the same run
    const cut = path.join(tmpDir(), 'cut');
    const data = await locateCifar({ dataset: 'cifar10', data: dataRoot });
    const stop = new Error('simulated kill');
    const first = new Run(cut, cfg, spec, p, data, {
      log: () => undefined, progress: false,
      afterEpoch: (rec) => { if (rec.phase === 'search' && rec.epoch === 1) throw stop; },
    }, {});
    await expect(first.start(false)).rejects.toBe(stop);
    expect(JSON.parse(readFileSync(path.join(cut, 'state.json'), 'utf8')).forward).toHaveLength(spec.layers.length);
    const rr = await cli('train', ...f, '--budget-latency-ms', '0.0185', '--search-forward', 'feasible', '--lr-alpha', '0.5', '--out', cut, '--resume');
    expect(rr.code).toBe(0);
    expect(rr.stdout).toMatch(/resuming .*: search, 1 epoch\(s\) done/);
    expect(readFileSync(path.join(cut, 'mapping.json'), 'utf8')).toBe(readFileSync(path.join(dir, 'mapping.json'), 'utf8'));
    expect(JSON.parse(readFileSync(path.join(cut, 'metrics.json'), 'utf8'))).toEqual(m);
  }, 90_000);

  it('sensitivity.json ranks the warm start; --mapping <file>.json fine-tunes exactly the mapping in the file', async () => {
    const f = flags.map((v, i) => (v === '' ? dataRoot : flags[i - 1] === '--epochs-search' ? '0' : v));
    const dir = path.join(tmpDir(), 'w');
    const r = await cli('train', ...f, '--budget-latency-ms', '0.0185', '--out', dir);
    expect(r.code).toBe(0);
    type Mapping = { layers: { name: string; channels: Record<string, number[]> }[] };
    const mapping = JSON.parse(readFileSync(path.join(dir, 'mapping.json'), 'utf8')) as Mapping;
    const sens = JSON.parse(readFileSync(path.join(dir, 'sensitivity.json'), 'utf8')) as
      { score: string; layers: { name: string; precise: string; delta: Record<string, number[]> }[] };
    expect(sens.score).toBe('channel-fisher');
    // no search: the mapping is the warm start's, whose digital channels are the most sensitive of each split layer
    let split = 0;
    sens.layers.forEach((l, k) => {
      expect(l.name).toBe(spec.layers[k]!.name);
      const delta = l.delta.analog;
      if (!delta) return expect(plans[k]!.eligible.length).toBe(1);
      expect(delta).toHaveLength(spec.layers[k]!.cout);
      for (const d of delta) expect(d).toBeGreaterThanOrEqual(0);
      const dig = mapping.layers[k]!.channels.digital!, ana = mapping.layers[k]!.channels.analog!;
      if (dig.length && ana.length) {
        split++;
        expect(Math.min(...dig.map((c) => delta[c]!))).toBeGreaterThanOrEqual(Math.max(...ana.map((c) => delta[c]!)));
      }
    });
    expect(split).toBeGreaterThan(0);
    // the same counts, the channels swapped end for end: fine-tuned as given
    const reversed: Mapping = { ...mapping, layers: mapping.layers.map((l, k) => {
      const C = spec.layers[k]!.cout;
      return { name: l.name, channels: Object.fromEntries(Object.entries(l.channels).map(([cu, cs]) => [cu, cs.map((c) => C - 1 - c).sort((a, b) => a - b)])) };
    }) };
    const file = path.join(tmpDir(), 'reversed.json');
    writeFileSync(file, JSON.stringify(reversed));
    const dir2 = path.join(tmpDir(), 'm');
    const r2 = await cli('train', ...flags.map((v) => (v === '' ? dataRoot : v)), '--mapping', file, '--out', dir2);
    expect(r2.stderr).toBe('');
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/baseline mapping .*reversed\.json: no search/);
    const got = JSON.parse(readFileSync(path.join(dir2, 'mapping.json'), 'utf8')) as Mapping;
    expect(got.layers).toEqual(reversed.layers);
    const m1 = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')), m2 = JSON.parse(readFileSync(path.join(dir2, 'metrics.json'), 'utf8'));
    expect(m2.latencyCycles).toBe(m1.latencyCycles); // same counts, same cost
  }, 60_000);

  it('a second budget from the same warm-up reuses the warm start\'s scores and the float statistics, and ends as it does alone', async () => {
    const f = flags.map((v, i) => (v === '' ? dataRoot : flags[i - 1] === '--epochs-search' ? '1' : v));
    const root = tmpDir();
    const a = await cli('train', ...f, '--budget-latency-ms', '0.0185', '--out', path.join(root, 'a'));
    expect(a.code).toBe(0);
    const b = await cli('train', ...f, '--budget-latency-ms', '0.01855', '--out', path.join(root, 'b'));
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/channel-fisher sensitivity on \d+ images, [\d.]+ s, the scores from an earlier run in this process/);
    expect(b.stdout).toMatch(/starting mapping calibrated .*the float network's statistics from an earlier run in this process/);
    // the same budget in a fresh process (nothing kept): the same scores, mapping and accuracy
    const alone = path.join(root, 'alone');
    const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const c = spawnSync(process.execPath, [main, 'train', ...f, '--budget-latency-ms', '0.01855', '--out', alone], { encoding: 'utf8', timeout: 120_000 });
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    expect(c.stdout).not.toMatch(/earlier run in this process/);
    for (const file of ['sensitivity.json', 'mapping.json', 'metrics.json']) {
      expect(readFileSync(path.join(alone, file), 'utf8')).toBe(readFileSync(path.join(root, 'b', file), 'utf8'));
    }
  }, 120_000);

  it('--mapping uniform --budget: fine-tunes the uniform mapping under the budget, channels at random', async () => {
    const f = flags.map((v) => (v === '' ? dataRoot : v));
    const dir = path.join(tmpDir(), 'u');
    const r = await cli('train', ...f, '--budget-latency-ms', '0.01858', '--mapping', 'uniform', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/baseline mapping uniform: no search/);
    const m = JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    expect(m.latencyCycles).toBeLessThanOrEqual(0.01858e-3 * 260e6);
    // tinycnn: one layer splits; at this budget 15 of its 16 channels stay digital
    const mapping = JSON.parse(readFileSync(path.join(dir, 'mapping.json'), 'utf8')) as { layers: { name: string; channels: Record<string, number[]> }[] };
    const u = uniformCounts(p, plans, 'latency', 0.01858e-3 * 260e6)!;
    expect(u.counts.some((c) => c[0] === 15 && c[1] === 1)).toBe(true);
    mapping.layers.forEach((l, k) => expect(p.cus.map((cu) => l.channels[cu.name]?.length ?? 0)).toEqual(u.counts[k]));
  }, 60_000);

  it('--mapping max-precise --budget: the most digital channels that fit, channels at random', async () => {
    const f = flags.map((v) => (v === '' ? dataRoot : v));
    const dir = path.join(tmpDir(), 'mp');
    const r = await cli('train', ...f, '--budget-latency-ms', '0.01858', '--mapping', 'max-precise', '--out', dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/baseline mapping max-precise: no search/);
    const mapping = JSON.parse(readFileSync(path.join(dir, 'mapping.json'), 'utf8')) as { layers: { name: string; channels: Record<string, number[]> }[] };
    const want = maxPreciseCounts(p, plans, 'latency', 0.01858e-3 * 260e6)!;
    mapping.layers.forEach((l, k) => expect(p.cus.map((cu) => l.channels[cu.name]?.length ?? 0)).toEqual(want.counts[k]));
    expect(JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')).latencyCycles).toBe(want.cost);
  }, 60_000);

  it.each([
    [['--budget', '0.01'], /budget 0\.01 x all:analog = .* is below the cheapest mapping of this model on diana/],
    [['--budget', '0.5', '--budget-latency-ms', '1'], /give one/],
    [['--budget', '-1'], /--budget: expected a fraction > 0/],
    [['--budget', '0.9', '--mapping', 'all:digital'], /a budget does not apply/],
    [['--mapping', 'uniform'], /--mapping uniform: needs a budget/],
    [['--mapping', 'max-precise'], /--mapping max-precise: needs a budget/],
  ])('rejects %j before any training, in one line', async (extra, msg) => {
    const f = flags.map((v) => (v === '' ? dataRoot : v));
    const r = await cli('train', ...f, '--out', path.join(tmpDir(), 'x'), ...(extra as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stdout).not.toMatch(/warm-up epoch/);
  });
});
