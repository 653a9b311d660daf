/**
 * Baseline mappings a run fine-tunes instead of searching: all:<cu>, min-latency,
 * min-energy, random:<run dir> (that run's per-layer counts, channels drawn at random), or
 * uniform with a budget (the same fraction of every layer's channels on the more precise
 * CU, the largest that fits the budget: hw/budget.ts uniformCounts; channels at random),
 * max-precise with a budget (the most channels on the precise CUs that fit the budget:
 * hw/budget.ts maxPreciseCounts; channels at random), or
 * a mapping file (<file>.json, as a run writes mapping.json: exactly that mapping).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { maxPreciseCounts, splitsInTwo, uniformCounts } from '../hw/budget.js';
import { allOnCounts, bestCounts, type LayerPlan, type Objective } from '../hw/cost.js';
import { assignmentOf } from '../hw/mapping_file.js';
import type { Platform } from '../hw/platform.js';
import type { ModelSpec } from '../models/spec.js';
import { Rng } from '../models/rng.js';
import type { Assignment } from '../search/model.js';
import { UserError } from '../util/errors.js';
import { readJsonFile, readJsonFileSync } from '../util/json.js';
import type { RunContext } from './context.js';

/**
 * Checks a baseline mapping before any training: a known name, an all:<cu> whose CU can
 * run every layer of the model, a random:<run dir> whose run has finished (unless the
 * caller will produce it, as a sweep does for its random twins), a mapping file that maps
 * every channel of `spec` to a CU that can run its layer.
 */
export function checkBaseline(name: string, platform: Platform, plans: LayerPlan[], flag = '--mapping', sourceMayBeMissing = false,
  budget: { value: number; spec: string; target: Objective } | null = null, spec: ModelSpec | null = null): void {
  const cus = platform.cus.map((c) => c.name);
  const expected = `expected ${cus.map((c) => `all:${c}`).join(', ')}, min-latency, min-energy, random:<run dir>, uniform or max-precise (with --budget) or a mapping <file>.json`;
  if (name === 'min-latency' || name === 'min-energy') return;
  if (name === 'uniform') {
    if (!budget) throw new UserError(`${flag} uniform: needs a budget (train --mapping uniform --budget B)`);
    if (!plans.some(splitsInTwo)) {
      throw new UserError(`${flag} uniform: no layer of this model splits its channels between two compute units on ${platform.name}`);
    }
    if (!uniformCounts(platform, plans, budget.target, budget.value)) {
      throw new UserError(`${flag} uniform: no uniform fraction fits the budget ${budget.spec} on ${platform.name}`);
    }
    return;
  }
  if (name === 'max-precise') {
    if (!budget) throw new UserError(`${flag} max-precise: needs a budget (train --mapping max-precise --budget B)`);
    if (!maxPreciseCounts(platform, plans, budget.target, budget.value)) throw new UserError(`${flag} max-precise: no mapping fits the budget ${budget.spec} on ${platform.name}`);
    return;
  }
  if (name.startsWith('all:')) {
    const i = cus.indexOf(name.slice(4));
    if (i < 0) throw new UserError(`${flag} ${name}: ${platform.name} has no compute unit '${name.slice(4)}' (${expected})`);
    if (!allOnCounts(platform, plans, i)) throw new UserError(`${flag} ${name}: ${name.slice(4)} cannot run every layer of this model on ${platform.name}`);
    return;
  }
  if (name.startsWith('random:')) {
    const file = path.join(name.slice('random:'.length), 'mapping.json');
    if (!sourceMayBeMissing && !existsSync(file)) throw new UserError(`${flag} ${name}: ${file} does not exist (that run has not finished)`);
    return;
  }
  if (name.endsWith('.json')) {
    if (!spec) return;
    const m = readJsonFileSync<unknown>(name, `the mapping (${flag})`);
    const assignment = assignmentOf(`${flag} ${name}`, m, spec, platform);
    plans.forEach((plan, k) => {
      const bad = assignment[k]!.find((cu) => !plan.eligible.includes(cu));
      if (bad !== undefined) throw new UserError(`${flag} ${name}: layer ${plan.layer.name}: ${platform.cus[bad]!.name} cannot run it on ${platform.name}`);
    });
    return;
  }
  throw new UserError(`${flag}: unknown baseline mapping '${name}' (${expected})`);
}

export async function baselineAssignment(ctx: RunContext, name: string): Promise<Assignment> {
  const { platform, plans, spec } = ctx;
  let counts: number[][];
  let shuffle = false;
  if (name.startsWith('all:')) {
    const cu = platform.cus.findIndex((c) => `all:${c.name}` === name);
    const c = cu < 0 ? null : allOnCounts(platform, plans, cu);
    if (!c) throw new UserError(`baseline ${name}: no such all-on-one-CU mapping on ${platform.name}`);
    counts = c;
  } else if (name === 'min-latency' || name === 'min-energy') {
    counts = bestCounts(platform, plans, name === 'min-latency' ? 'latency' : 'energy');
  } else if (name === 'uniform') {
    const u = ctx.cfg.budget ? uniformCounts(platform, plans, ctx.cfg.target, ctx.cfg.budget.value) : null;
    if (!u) throw new UserError('baseline uniform: no uniform fraction fits the budget');
    counts = u.counts;
    shuffle = true;
  } else if (name === 'max-precise') {
    const m = ctx.cfg.budget ? maxPreciseCounts(platform, plans, ctx.cfg.target, ctx.cfg.budget.value) : null;
    if (!m) throw new UserError('baseline max-precise: no mapping fits the budget');
    counts = m.counts;
    shuffle = true;
  } else if (name.startsWith('random:')) {
    const file = path.join(name.slice('random:'.length), 'mapping.json');
    if (!existsSync(file)) throw new UserError(`baseline ${name}: ${file} does not exist (that run has not finished)`);
    const assignment = assignmentOf(file, await readJsonFile<unknown>(file, 'the mapping'), spec, platform);
    counts = assignment.map((a) => platform.cus.map((cu) => a.filter((i) => i === cu.index).length));
    shuffle = true;
  } else if (name.endsWith('.json')) {
    return assignmentOf(name, await readJsonFile<unknown>(name, 'the mapping'), spec, platform);
  } else {
    throw new UserError(`unknown baseline mapping '${name}' (expected all:<cu>, min-latency, min-energy, random:<run dir>, uniform, max-precise or <file>.json)`);
  }
  const rng = new Rng(ctx.cfg.seed * 7919 + 17);
  return plans.map((plan, k) => {
    // Contiguous blocks in CU order, the conv CU of a conv-vs-depthwise layer first.
    const order = platform.cus.map((_, i) => i);
    if (plan.mode === 'conv-vs-depthwise' && platform.split.style === 'conv-vs-depthwise') {
      const conv = platform.split.conv;
      order.splice(order.indexOf(conv), 1);
      order.unshift(conv);
    }
    const cus = order.flatMap((i) => Array(counts[k]![i]!).fill(i) as number[]);
    if (shuffle && plan.mode !== 'conv-vs-depthwise') {
      for (let i = cus.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [cus[i], cus[j]] = [cus[j]!, cus[i]!];
      }
    }
    return cus;
  });
}
