// The demo-lr table from the finished points: node experiments/demo-lr/analyze.mjs → results.md, results.json
// Per configuration: test % on the 1,017 genuine test records (mean ± std over seeds, and
// per seed), whether the fine-tune kept its starting network (no epoch beat it on
// validation), and for searched points the cost at the end of the search relative to the
// budget, the channels the projection moved back, and the channel moves during the search
// (points run since flips were logged, 2026-11-25), and whether the search kept its starting
// network (points run since the epoch-0 candidate, 2026-11-25; '—' before it). Then the
// demo's comparison: feasible + exact (the demo) against argmax + soft (score-taylor) and
// max-precise, per budget and seed, and the front's hypervolume per seed.
// Then criterion 4 of issue 13 at this length: the demo against its random twin (twins.sh),
// and the warm start with no search against the demo (warmstart.sh).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hypervolume as frontHv } from '../../dist/pareto/front.js';

const E = path.dirname(fileURLToPath(import.meta.url));
const P = path.join(E, 'points');
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
const points = existsSync(P) ? readdirSync(P).filter((id) => existsSync(path.join(P, id, 'metrics.json'))).map((id) => {
  const d = path.join(P, id), m = read(path.join(d, 'metrics.json')), st = read(path.join(d, 'state.json'));
  const noSearch = read(path.join(d, 'config.json')).epochsSearch === 0;
  const log = readFileSync(path.join(d, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const search = log.filter((r) => r.phase === 'search').at(-1);
  const text = existsSync(`${d}.log`) ? readFileSync(`${d}.log`, 'utf8') : '';
  return {
    id, config: id.replace(/-s\d+$/, ''), seed: Number(id.match(/-s(\d+)$/)[1]), test: m.genuineTestAccuracy,
    keptStart: /fine-tune: no epoch beat the starting network/.test(text),
    searchKeptStart: !noSearch && /search: starting network val/.test(text) ? /no search epoch beat the starting network/.test(text) : null,
    cycles: m.latencyCycles,
    searchCostOverBudget: search && m.budget ? search.discreteCost.cycles / m.budget : null,
    moved: st.projection?.moved ?? null,
    flips: search?.flips ? `${search.flips.moves}/${search.flips.channels}` : null,
  };
}) : [];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const configs = [...new Set(points.map((p) => p.config))].sort();
const rows = configs.map((c) => {
  const ps = points.filter((p) => p.config === c).sort((a, b) => a.seed - b.seed);
  return { config: c, seeds: ps.map((p) => p.seed), test: ps.map((p) => p.test), keptStart: ps.map((p) => p.keptStart),
    searchKeptStart: ps.map((p) => p.searchKeptStart), searchCostOverBudget: ps.map((p) => p.searchCostOverBudget), moved: ps.map((p) => p.moved), flips: ps.map((p) => p.flips) };
});
// The demo's comparison: each family's point at each budget, paired by seed.
const budgets = ['bmin-latency', 'b0.4', 'b0.6', 'b0.8'];
const families = { demo: 'feasible-exact', argmaxSoft: 'score-taylor', maxPrecise: 'score-max-precise' };
const at = (fam, b, seed) => points.find((p) => p.config === `${fam}-${b}` && p.seed === seed);
const seeds = [...new Set(points.filter((p) => p.config.startsWith(`${families.demo}-`)).map((p) => p.seed))].sort((a, b) => a - b);
const pairs = (famA, famB, b) => seeds.map((s) => [at(famA, b, s), at(famB, b, s)]).filter(([x, y]) => x && y).map(([x, y]) => ({ seed: x.seed, diff: x.test - y.test }));
const testsOf = (fam, b) => seeds.map((s) => at(fam, b, s)?.test).filter((x) => x !== undefined);
const comparison = budgets.map((b) => ({
  budget: b.slice(1),
  demo: testsOf(families.demo, b), argmaxSoft: testsOf(families.argmaxSoft, b), maxPrecise: testsOf(families.maxPrecise, b),
  demoMinusArgmaxSoft: pairs(families.demo, families.argmaxSoft, b),
  demoMinusMaxPrecise: pairs(families.demo, families.maxPrecise, b),
  demoKeptStart: seeds.map((s) => at(families.demo, b, s)?.searchKeptStart ?? null),
}));
// Hypervolume of a family's four points per seed (pareto/front.ts's, as `hetsplit pareto`):
// latency normalised by all:digital's cycles, reference (1, 0); null when a point is missing.
const allDigital = points.find((p) => p.config.startsWith('all-digital'))?.cycles ?? null;
const hv = (ps) => frontHv(ps.map((p) => ({ cost: p.cycles, accuracy: p.test })), allDigital);
// The families, and the warm start with no search (warmstart.sh, configs warmstart-b<B>-lr1e-4).
const pointOf = { ...Object.fromEntries(Object.values(families).map((fam) => [fam, (b, s) => at(fam, b, s)])),
  'warmstart-lr1e-4': (b, s) => points.find((p) => p.config === `warmstart-${b}-lr1e-4` && p.seed === s) };
const hypervolume = allDigital === null ? [] : Object.entries(pointOf).map(([fam, of]) => ({
  family: Object.keys(families).find((k) => families[k] === fam) ?? 'warmStartNoSearch', config: fam,
  perSeed: seeds.map((s) => { const ps = budgets.map((b) => of(b, s)); return { seed: s, hv: ps.every(Boolean) ? hv(ps) : null }; }),
}));
const pct = (x) => (100 * x).toFixed(2);
const yn = (xs) => (xs.every((x) => x === null) ? '—' : xs.map((k) => (k === null ? '—' : k ? 'yes' : 'no')).join(' / '));
const md = ['| configuration | test % (genuine), mean ± std | per seed | search kept its start | fine-tune kept its start | search-end cost / budget | channels the projection moved | search: channel moves / channels moved |', '|---|---|---|---|---|---|---|---|'];
for (const r of rows) {
  md.push(`| ${r.config} | ${pct(mean(r.test))} ± ${pct(std(r.test))} (n=${r.test.length}) | ${r.test.map(pct).join(' / ')} | ${yn(r.searchKeptStart)} | ${yn(r.keptStart)} | ` +
    `${r.searchCostOverBudget.every((x) => x === null) ? '—' : r.searchCostOverBudget.map((x) => x.toFixed(3)).join(' / ')} | ${r.moved.every((x) => x === null) ? '—' : r.moved.join(' / ')} | ${r.flips.every((x) => x === null) ? '—' : r.flips.map((x) => x ?? '—').join(' ; ')} |`);
}
const ms = (xs) => (xs.length ? `${pct(mean(xs))} ± ${pct(std(xs))}` : '—');
const diffs = (ds) => (ds.length ? `${ds.map((d) => (d.diff >= 0 ? '+' : '') + pct(d.diff)).join(' ')} | ${pct(mean(ds.map((d) => d.diff)))} ± ${pct(std(ds.map((d) => d.diff)))}, ${ds.filter((d) => d.diff > 0).length} of ${ds.length} above` : '— | —');
md.push('', `The demo (${families.demo}) against the argmax + soft search (${families.argmaxSoft}) and max-precise (${families.maxPrecise}), seeds ${seeds.join(', ')}:`, '',
  '| budget | demo | argmax, soft | max-precise | search kept its start | demo − argmax per seed | demo − argmax | demo − max-precise per seed | demo − max-precise |', '|---|---|---|---|---|---|---|---|---|');
for (const c of comparison) md.push(`| ${c.budget} | ${ms(c.demo)} | ${ms(c.argmaxSoft)} | ${ms(c.maxPrecise)} | ${c.demoKeptStart.filter(Boolean).length} of ${c.demoKeptStart.length} | ${diffs(c.demoMinusArgmaxSoft)} | ${diffs(c.demoMinusMaxPrecise)} |`);
if (hypervolume.length) {
  md.push('', `Hypervolume of the four points per seed (latency / all:digital's ${allDigital} cycles, reference (1, 0)):`, '', `| | ${seeds.join(' | ')} | mean |`, `|---|${seeds.map(() => '---|').join('')}---|`);
  for (const h of hypervolume) {
    const v = h.perSeed.map((x) => x.hv).filter((x) => x !== null);
    md.push(`| ${h.config} | ${h.perSeed.map((x) => (x.hv === null ? '—' : x.hv.toFixed(4))).join(' | ')} | ${v.length ? (v.reduce((a, b) => a + b, 0) / v.length).toFixed(4) : '—'} |`);
  }
}
// Issue 13's criterion 4 at the demo's length (twins.sh): the demo's searched point against
// its random twin (its per-layer counts, channels at random) at every budget, and against the
// min-latency baseline at the min-latency cost: on every seed, and by a mean margin larger
// than twice the larger of the two standard deviations.
const twin = 'twin-feasible-exact';
const minLat = (s) => points.find((p) => p.config === 'min-latency-lr1e-4' && p.seed === s);
// Both sides over the seeds where both finished.
const paired = (budget, against, other) => {
  const ps = seeds.map((s) => [at(families.demo, `b${budget}`, s), other(s)]).filter(([x, y]) => x && y);
  return { budget, against, a: ps.map(([x]) => x.test), b: ps.map(([, y]) => y.test), d: ps.map(([x, y]) => ({ seed: x.seed, diff: x.test - y.test })) };
};
const criterion = [
  ...budgets.map((b) => paired(b.slice(1), 'random twin', (s) => at(twin, b, s))),
  paired('min-latency', 'min-latency baseline', minLat),
].filter((c) => c.d.length).map((c) => {
  const m = mean(c.d.map((x) => x.diff)), bar = 2 * Math.max(std(c.a), std(c.b));
  return { ...c, mean: m, twiceMaxStd: bar, ratio: bar > 0 ? m / bar : null, wins: c.d.filter((x) => x.diff > 0).length,
    met: c.d.every((x) => x.diff > 0) && m > bar };
});
if (criterion.length) {
  md.push('', `Criterion 4 at the demo's length (the demo against its random twin, and against the min-latency baseline at its cost), seeds ${seeds.join(', ')}:`, '',
    '| budget | against | demo | other | demo − other per seed | mean | 2 × larger std | mean / (2 × std) | met |', '|---|---|---|---|---|---|---|---|---|');
  for (const c of criterion) {
    md.push(`| ${c.budget} | ${c.against} | ${ms(c.a)} | ${ms(c.b)} | ${c.d.map((d) => (d.diff >= 0 ? '+' : '') + pct(d.diff)).join(' ')} | ${pct(c.mean)} (${c.wins} of ${c.d.length} above) | ${pct(c.twiceMaxStd)} | ${c.ratio === null ? '—' : c.ratio.toFixed(2)} | ${c.met ? 'yes' : 'no'} |`);
  }
}
// Option (b) of the open decision (warmstart.sh): the warm start fine-tuned 2 epochs, no α
// search, against the demo, paired by seed.
const warm = pointOf['warmstart-lr1e-4'];
const noSearch = budgets.map((b) => {
  const ps = seeds.map((s) => [at(families.demo, b, s), warm(b, s)]).filter(([x, y]) => x && y);
  return { budget: b.slice(1), demo: ps.map(([x]) => x.test), warmStart: ps.map(([, y]) => y.test), d: ps.map(([x, y]) => ({ seed: x.seed, diff: y.test - x.test })) };
}).filter((c) => c.d.length);
if (noSearch.length) {
  md.push('', `The warm start fine-tuned with no α search (warmstart.sh: --epochs-search 0 --epochs-finetune 2) against the demo, seeds paired:`, '',
    '| budget | demo | warm start, no search | no search − demo per seed | mean (seeds above) |', '|---|---|---|---|---|');
  for (const c of noSearch) md.push(`| ${c.budget} | ${ms(c.demo)} | ${ms(c.warmStart)} | ${c.d.map((d) => (d.diff >= 0 ? '+' : '') + pct(d.diff)).join(' ')} | ${pct(mean(c.d.map((d) => d.diff)))} ± ${pct(std(c.d.map((d) => d.diff)))} (${c.d.filter((d) => d.diff > 0).length} of ${c.d.length}, ${c.d.filter((d) => d.diff === 0).length} level) |`);
}
writeFileSync(path.join(E, 'results.json'), JSON.stringify({ rows, comparison, hypervolume, criterion, noSearch, allDigitalCycles: allDigital, points }, null, 2) + '\n');
writeFileSync(path.join(E, 'results.md'), md.join('\n') + '\n');
console.log(md.join('\n'));
