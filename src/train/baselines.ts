/**
 * Baseline mappings a run fine-tunes instead of searching: all:<cu>, min-latency,
 * min-energy, or random:<run dir> (that run's per-layer counts, channels drawn at random).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { allOnCounts, bestCounts } from '../hw/cost.js';
import { Rng } from '../models/rng.js';
import type { Assignment } from '../search/model.js';
import { UserError } from '../util/errors.js';
import type { RunContext } from './context.js';

/** Checks a baseline name without building it (before any training). */
export function checkBaselineName(name: string, cus: string[]): void {
  if (name === 'min-latency' || name === 'min-energy' || name.startsWith('random:')) return;
  if (name.startsWith('all:') && cus.includes(name.slice(4))) return;
  throw new UserError(`unknown baseline mapping '${name}' (expected ${cus.map((c) => `all:${c}`).join(', ')}, min-latency, min-energy or random:<run dir>)`);
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
  } else if (name.startsWith('random:')) {
    const file = path.join(name.slice('random:'.length), 'mapping.json');
    if (!existsSync(file)) throw new UserError(`baseline ${name}: ${file} does not exist (that run has not finished)`);
    const m = JSON.parse(await fs.readFile(file, 'utf8')) as { layers: { name: string; channels: Record<string, number[]> }[] };
    counts = spec.layers.map((l, k) => {
      const entry = m.layers[k];
      if (!entry || entry.name !== l.name) throw new UserError(`${file}: layer ${k} is not ${l.name}: another model`);
      return platform.cus.map((cu) => entry.channels[cu.name]?.length ?? 0);
    });
    shuffle = true;
  } else {
    throw new UserError(`unknown baseline mapping '${name}' (expected all:<cu>, min-latency, min-energy or random:<run dir>)`);
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
