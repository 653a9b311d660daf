// Wall time of projectToBudget (the exact knapsack + the fill) on ResNet20/DIANA with real
// warm-start scores: a finished demo point's sensitivity.json, at 7 latency budgets
// (fractions of all:digital). Run after `npm run build` and a demo:
//   node experiments/bench/projection.mjs runs/demo/sweep/points/b0.8-s42/sensitivity.json
import { readFileSync } from 'node:fs';
import { projectToBudget } from '../../dist/search/projection.js';
import { networkObjective } from '../../dist/hw/budget.js';
import { planLayers, referenceMappings } from '../../dist/hw/cost.js';
import { loadPlatform } from '../../dist/hw/platform.js';
import { geometry } from '../../dist/models/spec.js';
import { buildModel } from '../../dist/models/zoo.js';

const file = process.argv[2] ?? 'runs/demo/sweep/points/b0.8-s42/sensitivity.json';
const p = loadPlatform('diana');
const spec = buildModel('resnet20');
const plans = planLayers(p, geometry(spec), spec.name);
const sens = JSON.parse(readFileSync(file, 'utf8'));
// Preferences as the warm start builds them: 0 on the layer's precise CU, −Δ on the other.
const pref = sens.layers.map((l, k) => Array.from({ length: spec.layers[k].cout }, (_, c) => p.cus.map((cu, i) => {
  if (!plans[k].eligible.includes(i)) return -Infinity;
  return cu.name === l.precise ? 0 : -(l.delta[cu.name]?.[c] ?? 0);
})));
const digital = networkObjective(p, plans, referenceMappings(p, plans).find((m) => m.name === 'all:digital').counts, 'latency');
for (const f of [0.3375, 0.4, 0.5, 0.6, 0.7, 0.8, 0.95]) {
  const t0 = performance.now();
  const r = projectToBudget(p, plans, 'latency', f * digital, pref);
  console.log(`${f} x all:digital: ${(performance.now() - t0).toFixed(0)} ms (cost ${(r.cost / (f * digital)).toFixed(4)} of the budget)`);
}
