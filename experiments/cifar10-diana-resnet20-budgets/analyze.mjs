// The Done-when table of issue 13 from the study's finished points:
//   node experiments/cifar10-diana-resnet20-budgets/analyze.mjs  → results.json + results.md
// Per budget: searched vs random channels with the same counts (and, at the min-latency
// budget, the min-latency baseline), mean ± std over seeds, per-seed margins; cost/budget;
// the soft-to-hard gap (validation accuracy before vs after discretisation and projection);
// the searched front's hypervolume against the baselines', per seed. Then the ablations:
// one lr schedule per run (ablation-lr-run/), the warm start alone with no α search
// (no-search/), the uniform heuristic (uniform/), the warm-start mappings before any
// training (zero-shot/), the within-layer choice reversed (within-layer/), and the
// max-precise heuristic (max-precise/), and the warm start with the measured score (measured/);
// then the same comparisons and the whole front after shorter fine-tunes (short/ft<E>x<N>/).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hypervolume } from '../../dist/pareto/front.js';

const E = path.dirname(fileURLToPath(import.meta.url));
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
function load(sweep, dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const id of readdirSync(dir)) {
    const d = path.join(dir, id);
    if (!existsSync(path.join(d, 'metrics.json'))) continue;
    const m = read(path.join(d, 'metrics.json')), cfg = read(path.join(d, 'config.json')), st = read(path.join(d, 'state.json'));
    const log = readFileSync(path.join(d, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    const search = log.filter((r) => r.phase === 'search');
    out.push({
      id, sweep, seed: cfg.seed, mapping: cfg.fixedMapping, budget: cfg.budget, test: m.testAccuracy, genuine: m.genuineTestAccuracy,
      cycles: m.latencyCycles, seconds: log.reduce((a, r) => a + r.seconds, 0),
      dir: d, lastSearch: search.at(-1) ?? null, projection: st.projection ?? null, sensitivity: cfg.sensitivity ?? 'taylor',
    });
  }
  return out;
}
const points = [...load('sweep', path.join(E, 'sweep', 'points')), ...load('extra', path.join(E, 'extra', 'points'))];
const lrAll = load('ablation-lr-run', path.join(E, 'ablation-lr-run'));
const lrRun = lrAll.filter((p) => !p.mapping);
// Random twins of the ablation's own points (ablation-lr-run-twins.sh), where they exist.
const lrTwins = lrAll.filter((p) => p.mapping);
const noSearch = load('no-search', path.join(E, 'no-search'));
const uniform = load('uniform', path.join(E, 'uniform'));
const zeroShot = load('zero-shot', path.join(E, 'zero-shot'));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));
const fmt = (xs) => (xs.length ? `${(100 * mean(xs)).toFixed(2)} ± ${(100 * std(xs)).toFixed(2)} (n=${xs.length})` : '—');
const budgets = [...new Set(points.filter((p) => p.budget).map((p) => p.id.replace(/-s\d+$/, '')))];
const rows = budgets.map((key) => {
  const searched = points.filter((p) => p.id.replace(/-s\d+$/, '') === key && !p.mapping);
  const random = points.filter((p) => p.id.replace(/-s\d+$/, '') === `random-${key}`);
  const minLat = key === 'bmin-latency' ? points.filter((p) => p.mapping === 'min-latency') : [];
  const bySeed = (xs) => new Map(xs.map((p) => [p.seed, p.test]));
  const rs = bySeed(random), ms = bySeed(minLat);
  const marginsRandom = searched.filter((p) => rs.has(p.seed)).map((p) => p.test - rs.get(p.seed));
  const marginsMinLat = searched.filter((p) => ms.has(p.seed)).map((p) => p.test - ms.get(p.seed));
  return {
    budget: key, budgetCycles: searched[0]?.budget?.value ?? null,
    searched: searched.map((p) => p.test), random: random.map((p) => p.test), minLatency: minLat.map((p) => p.test),
    searchedGenuine: searched.map((p) => p.genuine), randomGenuine: random.map((p) => p.genuine),
    costOverBudget: searched.map((p) => p.cycles / p.budget.value),
    gapProjection: searched.filter((p) => p.projection).map((p) => p.projection.valBefore - p.projection.valAfter),
    gapSearch: searched.filter((p) => p.lastSearch).map((p) => p.lastSearch.valAccuracy - p.lastSearch.discreteValAccuracy),
    marginsRandom, marginsMinLat,
    beatsRandomEverySeed: marginsRandom.length > 0 && marginsRandom.every((x) => x > 0),
    randomMarginSignificant: marginsRandom.length > 1 && mean(searched.map((p) => p.test)) - mean(random.map((p) => p.test)) > 2 * Math.max(std(searched.map((p) => p.test)), std(random.map((p) => p.test))),
  };
});
// Hypervolume per seed: searched points of that seed vs the baselines (min-latency of that seed; all:*, min-energy).
const refCost = Math.max(...points.map((p) => p.cycles));
const hvOf = (ps) => hypervolume(ps.map((p) => ({ cost: p.cycles, accuracy: p.test })), refCost);
// The study's heuristic baselines for a seed: its min-latency point, all:*, min-energy.
const baselinesOf = (s) => points.filter((p) => p.mapping && !p.mapping.startsWith('random:') && (p.mapping !== 'min-latency' || p.seed === s));
const seeds = [...new Set(points.filter((p) => !p.mapping).map((p) => p.seed))].sort();
const perSeed = seeds.map((s) => ({ seed: s, searched: hvOf(points.filter((p) => !p.mapping && p.seed === s)), baselines: hvOf(baselinesOf(s)) }));
// Ablation 1: searched with one lr schedule per run, against the same baselines.
const key = (p) => p.id.replace(/-s\d+$/, '');
const tests = (xs, seed) => xs.filter((p) => seed === undefined || p.seed === seed).map((p) => p.test);
const lrRows = budgets.map((b) => {
  const run = lrRun.filter((p) => key(p) === b), phase = points.filter((p) => key(p) === b && !p.mapping);
  const own = lrTwins.filter((p) => key(p) === `random-${b}`);
  const random = own.length ? own : points.filter((p) => key(p) === `random-${b}`);
  const minLat = b === 'bmin-latency' ? points.filter((p) => p.mapping === 'min-latency') : [];
  const margin = (xs) => run.filter((p) => xs.some((q) => q.seed === p.seed)).map((p) => p.test - xs.find((q) => q.seed === p.seed).test);
  const signif = (xs) => xs.length > 1 && run.length > 1 && mean(tests(run)) - mean(tests(xs)) > 2 * Math.max(std(tests(run)), std(tests(xs)));
  return { budget: b, phase: tests(phase), run: tests(run), random: tests(random), twinsOf: own.length ? 'ablation' : 'study', minLatency: tests(minLat),
    marginsRandom: margin(random), marginsMinLat: margin(minLat), beatsRandom: signif(random) && margin(random).every((x) => x > 0),
    beatsMinLat: minLat.length > 0 && signif(minLat) && margin(minLat).every((x) => x > 0) };
});
const lrSeeds = [...new Set(lrRun.map((p) => p.seed))].sort();
const lrHv = lrSeeds.map((s) => ({ seed: s, searched: hvOf(lrRun.filter((p) => p.seed === s)),
  complete: lrRun.filter((p) => p.seed === s).length === budgets.length }));
// The uniform heuristic against the random twins (same channels at random, the searched counts).
const uniRows = [...new Set(uniform.map((p) => key(p).replace(/^uniform-/, '')))].sort().map((b) => {
  const u = uniform.filter((p) => key(p) === `uniform-${b}`), random = points.filter((p) => key(p) === `random-${b}`);
  const searched = points.filter((p) => key(p) === b && !p.mapping);
  return { budget: b, uniform: tests(u), uniformCostOverBudget: u.map((p) => p.cycles / p.budget.value), random: tests(random), searched: tests(searched),
    marginsRandomOverUniform: random.filter((p) => u.some((q) => q.seed === p.seed)).map((p) => p.test - u.find((q) => q.seed === p.seed).test) };
});
// Ablation 2: the warm start alone (knapsack counts, Taylor-ranked channels, 4 epochs of
// fine-tune, no α search) against the searched points of the same seed; and how far the
// search moved from that start: the digital channels of the searched mapping that the
// warm start (the no-search point's mapping) also put on the digital CU, and the layers
// whose counts differ.
const digitalSets = (dir) => read(path.join(dir, 'mapping.json')).layers.map((l) => new Set(l.channels.digital ?? []));
function moved(searchedDir, startDir) {
  const a = digitalSets(searchedDir), b = digitalSets(startDir);
  let kept = 0, digital = 0, layers = 0;
  a.forEach((s, l) => { digital += s.size; for (const c of s) if (b[l].has(c)) kept++; if (s.size !== b[l].size) layers++; });
  return { digital, kept, startDigital: b.reduce((x, s) => x + s.size, 0), layersWithOtherCounts: layers };
}
const nsRows = [...new Set(noSearch.map(key))].sort().map((b) => {
  const ns = noSearch.filter((p) => key(p) === b), phase = points.filter((p) => key(p) === b && !p.mapping);
  const run = lrRun.filter((p) => key(p) === b), random = points.filter((p) => key(p) === `random-${b}`);
  const minLat = b === 'bmin-latency' ? points.filter((p) => p.mapping === 'min-latency') : [];
  const margin = (xs, ys) => xs.filter((p) => ys.some((q) => q.seed === p.seed)).map((p) => p.test - ys.find((q) => q.seed === p.seed).test);
  const dirOf = (p) => path.join(E, p.sweep === 'sweep' ? 'sweep/points' : p.sweep, p.id);
  const movedPhase = phase.filter((p) => ns.some((q) => q.seed === p.seed)).map((p) => ({ seed: p.seed, ...moved(dirOf(p), dirOf(ns.find((q) => q.seed === p.seed))) }));
  return { budget: b, noSearch: tests(ns), phase: tests(phase), run: tests(run), random: tests(random), minLatency: tests(minLat),
    phaseMinusNoSearch: margin(phase, ns), runMinusNoSearch: margin(run, ns), noSearchMinusMinLatency: margin(ns, minLat), movedPhase };
});
const nsHv = [...new Set(noSearch.map((p) => p.seed))].sort().map((s) => ({ seed: s,
  warmStart: hvOf(noSearch.filter((p) => p.seed === s)),
  baselines: perSeed.find((q) => q.seed === s)?.baselines ?? null,
  complete: noSearch.filter((p) => p.seed === s).length === budgets.length }));
// Zero-shot: the warm-start mapping (per score), random channels with its counts and the
// max-precise counts (random channels), no training.
const zsRows = [...new Set(zeroShot.map((p) => key(p).match(/b[\d.]+$/)[0]))].sort().map((b) => ({
  budget: b,
  taylor: tests(zeroShot.filter((p) => p.id === `taylor-${b}`)), fisher: tests(zeroShot.filter((p) => p.id === `fisher-${b}`)),
  channelFisher: tests(zeroShot.filter((p) => p.id === `channel-fisher-${b}`)),
  channelFisherOrder: tests(zeroShot.filter((p) => p.id === `channel-fisher-order-${b}`)),
  random: tests(zeroShot.filter((p) => key(p) === `random-${b}`)),
  randomCf: tests(zeroShot.filter((p) => key(p) === `random-cf-${b}`)),
  maxPrecise: tests(zeroShot.filter((p) => key(p) === `max-precise-${b}`)),
}));
// Within-layer choice, both ends: the warm start's counts with the MOST Taylor-sensitive
// channels on the digital CU (no-search/), at random (the study's twins: the same counts at
// min-latency and 0.45, within a few channels at 0.6 and 0.8), the LEAST sensitive (within-layer/).
const least = load('within-layer', path.join(E, 'within-layer')).filter((p) => p.id.startsWith('least-'));
const perSeedMargin = (xs, ys) => xs.filter((p) => ys.some((q) => q.seed === p.seed)).map((p) => p.test - ys.find((q) => q.seed === p.seed).test);
const wlRows = [...new Set(least.map((p) => key(p).replace(/^least-/, '')))].sort().map((b) => {
  const l = least.filter((p) => key(p) === `least-${b}`), most = noSearch.filter((p) => key(p) === b), random = points.filter((p) => key(p) === `random-${b}`);
  return { budget: b, most: tests(most), random: tests(random), least: tests(l),
    mostMinusLeast: perSeedMargin(most, l), mostMinusRandom: perSeedMargin(most, random), randomMinusLeast: perSeedMargin(random, l) };
});
// Pooled over every budget and seed: the effect of the within-layer choice after the fine-tune.
const pooled = (k) => { const xs = wlRows.flatMap((r) => r[k]); return { n: xs.length, mean: xs.length ? mean(xs) : null, std: std(xs) }; };
const wlPooled = { mostMinusLeast: pooled('mostMinusLeast'), mostMinusRandom: pooled('mostMinusRandom'), randomMinusLeast: pooled('randomMinusLeast') };
// The max-precise heuristic (the most digital channels within the budget, cost model only)
// against the sensitivity-valued knapsack's counts: its random twins and the warm start.
const maxPrecise = load('max-precise', path.join(E, 'max-precise'));
const mpRows = [...new Set(maxPrecise.map((p) => key(p).replace(/^max-precise-/, '')))].sort().map((b) => {
  const mp = maxPrecise.filter((p) => key(p) === `max-precise-${b}`), random = points.filter((p) => key(p) === `random-${b}`), ns = noSearch.filter((p) => key(p) === b);
  const digital = (p) => read(path.join(E, 'max-precise', p.id, 'mapping.json')).layers.reduce((a, l) => a + (l.channels.digital ?? []).length, 0);
  return { budget: b, maxPrecise: tests(mp), costOverBudget: mp.map((p) => p.cycles / p.budget.value), digital: mp.map(digital), random: tests(random), warmStart: tests(ns),
    randomMinusMaxPrecise: perSeedMargin(random, mp), warmStartMinusMaxPrecise: perSeedMargin(ns, mp) };
});
// The warm start with the measured score (no α search) against the taylor one (ablation 2).
const measured = load('measured', path.join(E, 'measured'));
const msRows = [...new Set(measured.map(key))].sort().map((b) => {
  const ms = measured.filter((p) => key(p) === b), ns = noSearch.filter((p) => key(p) === b), mp = maxPrecise.filter((p) => key(p) === `max-precise-${b}`);
  const digital = (p) => read(path.join(E, 'measured', p.id, 'mapping.json')).layers.reduce((a, l) => a + (l.channels.digital ?? []).length, 0);
  return { budget: b, measured: tests(ms), digital: ms.map(digital), costOverBudget: ms.map((p) => p.cycles / p.budget.value), taylor: tests(ns), maxPrecise: tests(mp),
    measuredMinusTaylor: perSeedMargin(ms, ns), measuredMinusMaxPrecise: perSeedMargin(ms, mp) };
});
// Fine-tune length (short.sh): the same four mappings per budget and seed (the warm start,
// its random twin, its least-sensitive twin, max-precise), fine-tuned for fewer images. The
// 4-epoch row is the study's own: no-search/, the sweep's random twins (of the searched
// counts, within a few channels of the warm start's), within-layer/ and max-precise/.
const shortDirs = existsSync(path.join(E, 'short')) ? readdirSync(path.join(E, 'short')).filter((d) => /^ft\d+x\d+$/.test(d)).sort() : [];
const lengthRows = [];
const lengthPooled = [];
const lengthOf = (d) => { const [, ep, lim] = d.match(/^ft(\d+)x(\d+)$/); return { label: `${ep} × ${lim}`, images: Number(lim) * Number(ep) }; };
const addLength = (label, images, sets) => {
  const { most, random, least, mp, ms = [], sr = [] } = sets;
  const bs = [...new Set(most.map(key))].filter((b) => /^b\d/.test(b)).sort();
  const rowsL = bs.map((b) => {
    const m = most.filter((p) => key(p) === b), r = random.filter((p) => key(p) === `random-${b}`), l = least.filter((p) => key(p) === `least-${b}`), x = mp.filter((p) => key(p) === `max-precise-${b}`);
    const me = ms.filter((p) => key(p) === `measured-${b}`), se = sr.filter((p) => key(p) === `searched-${b}`);
    return { length: label, images, budget: b, most: tests(m), random: tests(r), least: tests(l), maxPrecise: tests(x), measured: tests(me), searched: tests(se), searchedMinusMost: perSeedMargin(se, m), searchedMinusMaxPrecise: perSeedMargin(se, x),
      mostMinusRandom: perSeedMargin(m, r), mostMinusLeast: perSeedMargin(m, l), mostMinusMaxPrecise: perSeedMargin(m, x), measuredMinusMaxPrecise: perSeedMargin(me, x) };
  });
  lengthRows.push(...rowsL);
  const pool = (k) => { const xs = rowsL.flatMap((r) => r[k]); return { n: xs.length, mean: xs.length ? mean(xs) : null, std: std(xs) }; };
  lengthPooled.push({ length: label, images, mostMinusRandom: pool('mostMinusRandom'), mostMinusLeast: pool('mostMinusLeast'), mostMinusMaxPrecise: pool('mostMinusMaxPrecise'), measuredMinusMaxPrecise: pool('measuredMinusMaxPrecise'),
    searchedMinusMost: pool('searchedMinusMost'), searchedMinusMaxPrecise: pool('searchedMinusMaxPrecise') });
};
const shortPoints = [];
for (const d of shortDirs) {
  const ps = load(`short/${d}`, path.join(E, 'short', d));
  shortPoints.push(...ps);
  const { label, images } = lengthOf(d);
  if (ps.some((p) => /^b\d/.test(key(p)))) addLength(label, images, { most: ps, random: ps, least: ps, mp: ps, ms: ps, sr: ps });
}
{
  const b3 = (p) => ['b0.45', 'b0.6', 'b0.8'].includes(key(p).replace(/^(random|least|max-precise|measured|searched)-/, ''));
  addLength('4 × 20000', 80000, { most: noSearch.filter(b3), random: points.filter(b3), least: least.filter(b3), mp: maxPrecise.filter(b3), ms: measured.map((p) => ({ ...p, id: `measured-${p.id}` })).filter(b3),
    sr: points.filter((p) => !p.mapping).map((p) => ({ ...p, id: `searched-${p.id}` })).filter(b3) });
}
lengthPooled.sort((a, b) => a.images - b.images);
// The whole front at a short length (short.sh with BASELINES=1), per seed: the warm-start
// points (min-latency cost and the three budgets) against the heuristic baselines fine-tuned
// just as long: min-latency (that seed), all:digital, all:analog, min-energy (seed 42), and
// with the budget heuristics: uniform and max-precise (that seed). Random twins apart.
const shortHv = [];
const shortMinLat = [];
for (const d of shortDirs) {
  const ps = shortPoints.filter((p) => p.sweep === `short/${d}`);
  const has = (id) => ps.some((p) => key(p) === id);
  if (!has('min-latency') || !has('all-digital')) continue;
  const { label, images } = lengthOf(d);
  const fixedOnce = ps.filter((p) => ['all-digital', 'all-analog', 'min-energy'].includes(key(p)));
  for (const s of [...new Set(ps.filter((p) => key(p) === 'bmin-latency').map((p) => p.seed))].sort()) {
    const of = (re) => ps.filter((p) => p.seed === s && re.test(key(p)));
    const searched = of(/^b(\d|min-latency$)/), minLat = of(/^min-latency$/);
    const base = [...minLat, ...fixedOnce], heur = [...base, ...of(/^(uniform|max-precise)-b/)];
    shortHv.push({ length: label, images, seed: s, searchedPoints: searched.length, searched: hvOf(searched), baselines: hvOf(base), heuristics: hvOf(heur),
      randomTwins: hvOf([...base, ...of(/^random-b/)]) });
  }
  const b = ps.filter((p) => key(p) === 'bmin-latency'), r = ps.filter((p) => key(p) === 'random-bmin-latency'), m = ps.filter((p) => key(p) === 'min-latency');
  shortMinLat.push({ length: label, warmStart: tests(b), random: tests(r), minLatency: tests(m), minusMinLatency: perSeedMargin(b, m), minusRandom: perSeedMargin(b, r),
    uniform: ['b0.45', 'b0.6', 'b0.8'].map((x) => ({ budget: x, uniform: tests(ps.filter((p) => key(p) === `uniform-${x}`)), warmStart: tests(ps.filter((p) => key(p) === x)) })),
    fixed: fixedOnce.map((p) => ({ id: p.id, test: p.test, cycles: p.cycles })) });
}
// The channel-fisher score (short.sh CHANNEL_FISHER=1): the warm start valued and ranked by
// ½ E[(g·d)²] against its own random twin (criterion 4's comparison), the taylor warm start,
// max-precise and (at the min-latency cost) the min-latency baseline; and its front's
// hypervolume against every heuristic fine-tuned as long.
const cfRows = [], cfHv = [];
for (const d of shortDirs) {
  const ps = shortPoints.filter((p) => p.sweep === `short/${d}`);
  const { label, images } = lengthOf(d);
  // At the study's length the comparisons are the study's own points (no-search/, max-precise/, the sweep).
  const study = label === '4 × 20000' ? [...noSearch, ...maxPrecise, ...points.filter((p) => p.mapping === 'min-latency')] : [];
  const of = (id, s) => [...ps, ...study].filter((p) => key(p) === id && (s === undefined || p.seed === s));
  for (const b of [...new Set(ps.map(key).filter((k) => k.startsWith('cf-b')).map((k) => k.slice(3)))].sort()) {
    const cf = of(`cf-${b}`), twin = of(`random-cf-${b}`), margin = perSeedMargin(cf, twin);
    const sd = Math.max(std(tests(cf)), std(tests(twin)));
    cfRows.push({ length: label, images, budget: b, channelFisher: tests(cf), twin: tests(twin), taylor: tests(of(b)), maxPrecise: tests(of(`max-precise-${b}`)),
      minLatency: b === 'bmin-latency' ? tests(of('min-latency')) : [], minusTwin: margin, minusTaylor: perSeedMargin(cf, of(b)),
      minusMaxPrecise: perSeedMargin(cf, of(`max-precise-${b}`)), minusMinLatency: b === 'bmin-latency' ? perSeedMargin(cf, of('min-latency')) : [],
      searched: tests(of(`searched-cf-${b}`)), searchedMinusCf: perSeedMargin(of(`searched-cf-${b}`), cf),
      // The α search with the exact cost gradient (EXACT=1): against the warm start, the soft-gradient search, and
      // its own random twin (random channels with the searched mapping's counts, fine-tuned as long: criterion 4's comparison).
      exact: tests(of(`searched-cf-exact-${b}`)), exactTwin: tests(of(`random-searched-cf-exact-${b}`)), exactMinusCf: perSeedMargin(of(`searched-cf-exact-${b}`), cf),
      exactMinusSoft: perSeedMargin(of(`searched-cf-exact-${b}`), of(`searched-cf-${b}`)),
      exactMinusTwin: perSeedMargin(of(`searched-cf-exact-${b}`), of(`random-searched-cf-exact-${b}`)),
      exactMarginOverTwoStd: of(`random-searched-cf-exact-${b}`).length > 1
        ? (mean(tests(of(`searched-cf-exact-${b}`))) - mean(tests(of(`random-searched-cf-exact-${b}`)))) / (2 * Math.max(std(tests(of(`searched-cf-exact-${b}`))), std(tests(of(`random-searched-cf-exact-${b}`))))) : null,
      // The feasible forward (FEASIBLE=1: the exact search training no mapping over the budget) and
      // the exact search with α frozen (FROZEN=1): against the warm start and the argmax exact search.
      feasible: tests(of(`feasible-cf-exact-${b}`)), feasibleMinusCf: perSeedMargin(of(`feasible-cf-exact-${b}`), cf),
      feasibleMinusExact: perSeedMargin(of(`feasible-cf-exact-${b}`), of(`searched-cf-exact-${b}`)),
      frozen: tests(of(`frozen-cf-exact-${b}`)), frozenMinusCf: perSeedMargin(of(`frozen-cf-exact-${b}`), cf),
      twinMarginOverTwoStd: margin.length > 1 ? (mean(tests(cf)) - mean(tests(twin))) / (2 * sd) : null,
      beatsTwin: margin.length > 1 && margin.every((x) => x > 0) && mean(tests(cf)) - mean(tests(twin)) > 2 * sd });
  }
  const fixedOnce = ps.filter((p) => ['all-digital', 'all-analog', 'min-energy'].includes(key(p)));
  for (const s of [...new Set(ps.filter((p) => key(p) === 'cf-bmin-latency').map((p) => p.seed))].sort()) {
    const cf = ps.filter((p) => p.seed === s && key(p).startsWith('cf-b'));
    // At the study's length the baselines, heuristics and taylor points are the study's own (baselinesOf, uniform/, max-precise/, no-search/).
    const base = study.length ? baselinesOf(s) : [...of('min-latency', s), ...fixedOnce];
    const heur = [...base, ...(study.length ? [...uniform, ...maxPrecise] : ps).filter((p) => p.seed === s && /^(uniform|max-precise)-b/.test(key(p)))];
    const taylor = (study.length ? noSearch : ps).filter((p) => p.seed === s && /^b(\d|min-latency$)/.test(key(p)));
    cfHv.push({ length: label, seed: s, points: cf.length, channelFisher: hvOf(cf), taylor: hvOf(taylor),
      heuristics: hvOf(heur), twins: hvOf([...base, ...ps.filter((p) => p.seed === s && key(p).startsWith('random-cf-b'))]) });
  }
}
const cfPooled = [...new Set(cfRows.map((r) => r.length))].map((length) => {
  const rs = cfRows.filter((r) => r.length === length && r.budget !== 'bmin-latency');
  const pool = (k) => { const xs = rs.flatMap((r) => r[k]); return { n: xs.length, mean: xs.length ? mean(xs) : null, std: std(xs) }; };
  return { length, minusTwin: pool('minusTwin'), minusTaylor: pool('minusTaylor'), minusMaxPrecise: pool('minusMaxPrecise'), searchedMinusCf: pool('searchedMinusCf'),
    exactMinusCf: pool('exactMinusCf'), exactMinusSoft: pool('exactMinusSoft'), exactMinusTwin: pool('exactMinusTwin') };
});
// The same hypervolumes at the study's length (4 × 20000): the warm start alone (no-search/),
// the study's baselines, uniform/ and max-precise/, the sweep's random twins.
for (const s of [...new Set(noSearch.map((p) => p.seed))].sort()) {
  const searched = noSearch.filter((p) => p.seed === s), base = baselinesOf(s);
  shortHv.push({ length: '4 × 20000', images: 80000, seed: s, searchedPoints: searched.length, searched: hvOf(searched), baselines: hvOf(base),
    heuristics: hvOf([...base, ...[...uniform, ...maxPrecise].filter((p) => p.seed === s)]),
    randomTwins: hvOf([...base, ...points.filter((p) => p.seed === s && p.mapping?.startsWith('random:'))]) });
}
// Every fine-tuned network of the study, grouped by how its mapping was made and its budget:
// the number of channels on the digital (8-bit) CU against test accuracy.
const digitalOf = (p) => read(path.join(p.dir, 'mapping.json')).layers.reduce((a, l) => a + (l.channels.digital ?? []).length, 0);
const groupOf = (p) => `${p.sweep}/${p.id.replace(/-s\d+$/, '')}`;
const trained = [...points, ...lrAll, ...noSearch, ...uniform, ...least, ...maxPrecise, ...measured, ...shortPoints].filter((p) => p.seconds > 0);
const byDigital = [...new Set(trained.map(groupOf))].map((g) => {
  const ps = trained.filter((p) => groupOf(p) === g), d = ps.map(digitalOf);
  return { group: g, n: ps.length, digital: [Math.min(...d), Math.max(...d)], cycles: mean(ps.map((p) => p.cycles)), test: ps.map((p) => p.test) };
}).sort((a, b) => a.digital[0] - b.digital[0] || mean(a.test) - mean(b.test));
const out = { rows, hypervolume: { referenceCycles: refCost, perSeed }, ablationLrRun: { rows: lrRows, hypervolume: lrHv }, noSearch: { rows: nsRows, hypervolume: nsHv }, uniform: uniRows, zeroShot: zsRows, withinLayer: { rows: wlRows, pooled: wlPooled }, byDigital, maxPrecise: mpRows, measured: msRows, fineTuneLength: { rows: lengthRows, pooled: lengthPooled, hypervolume: shortHv, minLatencyCost: shortMinLat },
  channelFisher: { rows: cfRows, pooled: cfPooled, hypervolume: cfHv },
  points: [...points, ...lrAll, ...noSearch, ...uniform, ...zeroShot, ...least, ...maxPrecise, ...measured, ...shortPoints].map(({ lastSearch, dir, ...p }) => p) };
writeFileSync(path.join(E, 'results.json'), JSON.stringify(out, null, 2) + '\n');
const md = ['| budget | searched (test %) | random, same counts | min-latency | searched / random on the 1,017 genuine records | cost / budget | val lost at projection (pts) | searched − random per seed |', '|---|---|---|---|---|---|---|---|'];
for (const r of rows) {
  md.push(`| ${r.budget} | ${fmt(r.searched)} | ${fmt(r.random)} | ${fmt(r.minLatency)} | ${fmt(r.searchedGenuine).replace(/ \(n=\d\)/, '')} / ${fmt(r.randomGenuine).replace(/ \(n=\d\)/, '')} | ${r.costOverBudget.map((x) => x.toFixed(4)).join(', ')} | ` +
    `${r.gapProjection.map((x) => (100 * x).toFixed(2)).join(', ') || '—'} | ${r.marginsRandom.map((x) => (100 * x).toFixed(2)).join(', ') || '—'} |`);
}
md.push('', '| seed | hypervolume searched | hypervolume baselines |', '|---|---|---|');
for (const s of perSeed) md.push(`| ${s.seed} | ${s.searched.toFixed(4)} | ${s.baselines.toFixed(4)} |`);
const pct = (xs) => xs.map((x) => (100 * x).toFixed(2)).join(' / ') || '—';
md.push('', '## Ablation 1: one lr schedule per run (test %, per seed, then mean ± std)', '',
  '| budget | searched, lr per phase | searched, lr per run | random twin (of) | min-latency | run − random per seed | run − min-latency per seed | beats random by > 2 std on every seed |', '|---|---|---|---|---|---|---|---|');
for (const r of lrRows) {
  md.push(`| ${r.budget} | ${fmt(r.phase)} | ${fmt(r.run)} | ${fmt(r.random)} (${r.twinsOf === 'ablation' ? 'these points' : 'the study\'s points'}) | ${fmt(r.minLatency)} | ${pct(r.marginsRandom)} | ${pct(r.marginsMinLat)} | ${r.beatsRandom ? 'yes' : 'no'} |`);
}
md.push('', '| seed | hypervolume, searched with lr per run | all four budgets |', '|---|---|---|');
for (const h of lrHv) md.push(`| ${h.seed} | ${h.searched.toFixed(4)} | ${h.complete ? 'yes' : 'no'} |`);
if (nsRows.length) {
  md.push('', '## Ablation 2: the warm start alone, no α search (test %)', '',
    '| budget | warm start + 4 epochs fine-tune | searched, lr per phase | searched, lr per run | random twin | min-latency | phase − warm start per seed | run − warm start per seed | warm start − min-latency per seed | searched digital channels the warm start also had (per seed) | layers with other counts |',
    '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of nsRows) {
    md.push(`| ${r.budget} | ${fmt(r.noSearch)} | ${fmt(r.phase)} | ${fmt(r.run)} | ${fmt(r.random)} | ${fmt(r.minLatency)} | ${pct(r.phaseMinusNoSearch)} | ${pct(r.runMinusNoSearch)} | ${pct(r.noSearchMinusMinLatency)} | ` +
      `${r.movedPhase.map((m) => `${m.kept}/${m.digital}`).join(', ') || '—'} | ${r.movedPhase.map((m) => m.layersWithOtherCounts).join(', ') || '—'} |`);
  }
}
if (nsHv.length) {
  md.push('', '| seed | hypervolume, warm start with no search | heuristic baselines | all four budgets |', '|---|---|---|---|');
  for (const h of nsHv) md.push(`| ${h.seed} | ${h.warmStart.toFixed(4)} | ${h.baselines?.toFixed(4) ?? '—'} | ${h.complete ? 'yes' : 'no'} |`);
}
if (uniRows.length) {
  md.push('', '## The uniform heuristic (test %)', '', '| budget | uniform | its cost / budget | random twin (searched counts) | searched | twin − uniform per seed |', '|---|---|---|---|---|---|');
  for (const r of uniRows) md.push(`| ${r.budget} | ${fmt(r.uniform)} | ${r.uniformCostOverBudget.map((x) => x.toFixed(4)).join(', ')} | ${fmt(r.random)} | ${fmt(r.searched)} | ${pct(r.marginsRandomOverUniform)} |`);
}
if (zsRows.length) {
  md.push('', '## Zero-shot: warm-start mappings before any training (test %)', '', '| budget | taylor ranking | fisher ranking | random channels, taylor\'s counts (seeds) | max-precise counts, random channels (seeds) |', '|---|---|---|---|---|');
  for (const r of zsRows) md.push(`| ${r.budget} | ${pct(r.taylor)} | ${pct(r.fisher)} | ${pct(r.random)} | ${pct(r.maxPrecise)} |`);
  if (zsRows.some((r) => r.channelFisher.length)) {
    md.push('', '| budget | channel-fisher (its counts and ranking) | random channels, its counts (seeds) | taylor\'s counts, channel-fisher ranking | taylor ranking |', '|---|---|---|---|---|');
    for (const r of zsRows) md.push(`| ${r.budget} | ${pct(r.channelFisher)} | ${pct(r.randomCf)} | ${pct(r.channelFisherOrder)} | ${pct(r.taylor)} |`);
  }
}
if (wlRows.length) {
  md.push('', '## Within-layer choice, both ends (test %, the warm start\'s counts, 4 epochs of fine-tune)', '',
    '| budget | most sensitive on digital (warm start) | random twin | least sensitive on digital | most − least per seed | most − random per seed | random − least per seed |', '|---|---|---|---|---|---|---|');
  for (const r of wlRows) md.push(`| ${r.budget} | ${fmt(r.most)} | ${fmt(r.random)} | ${fmt(r.least)} | ${pct(r.mostMinusLeast)} | ${pct(r.mostMinusRandom)} | ${pct(r.randomMinusLeast)} |`);
  const pm = (q) => `${(100 * q.mean).toFixed(2)} ± ${(100 * q.std).toFixed(2)} (n=${q.n})`;
  md.push('', `Pooled over budgets and seeds (points): most − least ${pm(wlPooled.mostMinusLeast)}, most − random ${pm(wlPooled.mostMinusRandom)}, random − least ${pm(wlPooled.randomMinusLeast)}.`);
}
if (mpRows.length) {
  md.push('', '## The max-precise heuristic: counts from the cost model alone (test %)', '',
    '| budget | max-precise | its digital channels | its cost / budget | random twin (sensitivity-valued counts) | warm start (those counts, most sensitive on digital) | twin − max-precise per seed | warm start − max-precise per seed |', '|---|---|---|---|---|---|---|---|');
  for (const r of mpRows) md.push(`| ${r.budget} | ${fmt(r.maxPrecise)} | ${r.digital.join(', ')} | ${r.costOverBudget.map((x) => x.toFixed(4)).join(', ')} | ${fmt(r.random)} | ${fmt(r.warmStart)} | ${pct(r.randomMinusMaxPrecise)} | ${pct(r.warmStartMinusMaxPrecise)} |`);
}
if (msRows.length) {
  md.push('', '## The measured score: the warm start\'s counts from a layer-level measurement (test %, no α search)', '',
    '| budget | measured | its digital channels | its cost / budget | taylor (ablation 2) | max-precise | measured − taylor per seed | measured − max-precise per seed |', '|---|---|---|---|---|---|---|---|');
  for (const r of msRows) md.push(`| ${r.budget} | ${fmt(r.measured)} | ${r.digital.join(', ')} | ${r.costOverBudget.map((x) => x.toFixed(4)).join(', ')} | ${fmt(r.taylor)} | ${fmt(r.maxPrecise)} | ${pct(r.measuredMinusTaylor)} | ${pct(r.measuredMinusMaxPrecise)} |`);
}
if (lengthRows.length) {
  md.push('', '## Fine-tune length: what the mapping is worth after fewer images (test %)', '',
    '| fine-tune (epochs × images) | budget | warm start (most sensitive on digital) | random twin | least sensitive on digital | max-precise | measured score | most − random per seed | most − least per seed | most − max-precise per seed | measured − max-precise per seed |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of [...lengthRows].sort((a, b) => a.images - b.images || a.budget.localeCompare(b.budget))) md.push(`| ${r.length} | ${r.budget.slice(1)} | ${fmt(r.most)} | ${fmt(r.random)} | ${fmt(r.least)} | ${fmt(r.maxPrecise)} | ${fmt(r.measured)} | ${pct(r.mostMinusRandom)} | ${pct(r.mostMinusLeast)} | ${pct(r.mostMinusMaxPrecise)} | ${pct(r.measuredMinusMaxPrecise)} |`);
  const pm = (q) => (q.n ? `${(100 * q.mean).toFixed(2)} ± ${(100 * q.std).toFixed(2)} (n=${q.n})` : '—');
  md.push('', 'Pooled over the budgets 0.45 / 0.6 / 0.8 and the seeds (points):', '', '| fine-tune | most − random | most − least | most − max-precise | measured − max-precise |', '|---|---|---|---|---|');
  for (const q of lengthPooled) md.push(`| ${q.length} | ${pm(q.mostMinusRandom)} | ${pm(q.mostMinusLeast)} | ${pm(q.mostMinusMaxPrecise)} | ${pm(q.measuredMinusMaxPrecise)} |`);
  md.push('', 'The α search at the same length (short/: FT_EPOCHS epochs of search, no fine-tune; 4 × 20000: the sweep, 2 + 2):', '',
    '| fine-tune | budget | searched | warm start | max-precise | searched − warm start per seed | searched − max-precise per seed |', '|---|---|---|---|---|---|---|');
  for (const r of [...lengthRows].filter((r) => r.searched.length).sort((a, b) => a.images - b.images || a.budget.localeCompare(b.budget)))
    md.push(`| ${r.length} | ${r.budget.slice(1)} | ${fmt(r.searched)} | ${fmt(r.most)} | ${fmt(r.maxPrecise)} | ${pct(r.searchedMinusMost)} | ${pct(r.searchedMinusMaxPrecise)} |`);
  md.push('', '| fine-tune | searched − warm start, pooled | searched − max-precise, pooled |', '|---|---|---|');
  for (const q of lengthPooled.filter((q) => q.searchedMinusMost.n)) md.push(`| ${q.length} | ${pm(q.searchedMinusMost)} | ${pm(q.searchedMinusMaxPrecise)} |`);
}
if (shortMinLat.length) {
  md.push('', '### The whole front at a short fine-tune (BASELINES=1)', '',
    '| fine-tune | at the min-latency cost: warm start | random twin | min-latency baseline | warm start − min-latency per seed | warm start − twin per seed | fixed baselines (seed 42) |', '|---|---|---|---|---|---|---|');
  for (const r of shortMinLat) md.push(`| ${r.length} | ${fmt(r.warmStart)} | ${fmt(r.random)} | ${fmt(r.minLatency)} | ${pct(r.minusMinLatency)} | ${pct(r.minusRandom)} | ${r.fixed.map((f) => `${f.id.replace(/-s\d+$/, '')} ${(100 * f.test).toFixed(2)} at ${f.cycles.toFixed(0)}`).join('; ')} |`);
  md.push('', '| fine-tune | budget | warm start | uniform heuristic |', '|---|---|---|---|');
  for (const r of shortMinLat) for (const u of r.uniform) md.push(`| ${r.length} | ${u.budget.slice(1)} | ${fmt(u.warmStart)} | ${fmt(u.uniform)} |`);
  md.push('', '| fine-tune | seed | hypervolume: warm-start points | heuristic baselines (min-latency, all:*, min-energy) | + uniform and max-precise | baselines + random twins |', '|---|---|---|---|---|---|');
  for (const h of [...shortHv].sort((a, b) => a.images - b.images || a.seed - b.seed)) md.push(`| ${h.length} | ${h.seed} | ${h.searched.toFixed(4)}${h.searchedPoints < 4 ? ` (${h.searchedPoints} points)` : ''} | ${h.baselines.toFixed(4)} | ${h.heuristics.toFixed(4)} | ${h.randomTwins.toFixed(4)} |`);
}
if (cfRows.length) {
  const pm = (q) => (q.n ? `${(100 * q.mean).toFixed(2)} ± ${(100 * q.std).toFixed(2)} (n=${q.n})` : '—');
  md.push('', '## The channel-fisher score: warm start valued and ranked by ½ E[(g·d)²] (test %, no α search)', '',
    '| fine-tune | budget | channel-fisher | its random twin | taylor warm start | max-precise | min-latency | − twin per seed | (mean − twin) / (2 × max std) | − taylor per seed | − max-precise per seed | − min-latency per seed |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of cfRows) md.push(`| ${r.length} | ${r.budget.slice(1)} | ${fmt(r.channelFisher)} | ${fmt(r.twin)} | ${fmt(r.taylor)} | ${fmt(r.maxPrecise)} | ${fmt(r.minLatency)} | ${pct(r.minusTwin)} | ${r.twinMarginOverTwoStd?.toFixed(2) ?? '—'}${r.beatsTwin ? ' (criterion 4 holds)' : ''} | ${pct(r.minusTaylor)} | ${pct(r.minusMaxPrecise)} | ${pct(r.minusMinLatency)} |`);
  md.push('', '| fine-tune | pooled over 0.45 / 0.6 / 0.8 and seeds: − twin | − taylor | − max-precise |', '|---|---|---|---|');
  for (const q of cfPooled) md.push(`| ${q.length} | ${pm(q.minusTwin)} | ${pm(q.minusTaylor)} | ${pm(q.minusMaxPrecise)} |`);
  md.push('', '| fine-tune | seed | hypervolume: channel-fisher points | taylor points | every heuristic | fixed baselines + its twins |', '|---|---|---|---|---|---|');
  for (const h of cfHv) md.push(`| ${h.length} | ${h.seed} | ${h.channelFisher.toFixed(4)}${h.points < 4 ? ` (${h.points} points)` : ''} | ${h.taylor.toFixed(4)} | ${h.heuristics.toFixed(4)} | ${h.twins.toFixed(4)} |`);
  if (cfRows.some((r) => r.searched.length)) {
    md.push('', 'The α search from the channel-fisher warm start (short/: FT_EPOCHS epochs of search in place of the fine-tune, `SEARCHED=1 CHANNEL_FISHER=1`):', '',
      '| fine-tune | budget | searched from channel-fisher | channel-fisher warm start, fine-tuned as long | searched − warm start per seed |', '|---|---|---|---|---|');
    for (const r of cfRows.filter((r) => r.searched.length)) md.push(`| ${r.length} | ${r.budget.slice(1)} | ${fmt(r.searched)} | ${fmt(r.channelFisher)} | ${pct(r.searchedMinusCf)} |`);
    for (const q of cfPooled.filter((q) => q.searchedMinusCf.n)) md.push('', `Pooled over 0.45 / 0.6 / 0.8 and seeds (${q.length}): searched − warm start ${pm(q.searchedMinusCf)}.`);
  }
  if (cfRows.some((r) => r.exact.length)) {
    md.push('', 'The α search with the exact cost gradient (`--cost-grad exact`: per channel, the exact cost of moving it alone; `CHANNEL_FISHER=1 EXACT=1`), from the channel-fisher warm start:', '',
      '| fine-tune | budget | searched, exact cost gradient | searched, soft cost gradient | warm start, fine-tuned as long | its random twin | − warm start per seed | − soft per seed | − twin per seed | (mean − twin) / (2 × max std) |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const r of cfRows.filter((r) => r.exact.length)) md.push(`| ${r.length} | ${r.budget.slice(1)} | ${fmt(r.exact)} | ${fmt(r.searched)} | ${fmt(r.channelFisher)} | ${fmt(r.exactTwin)} | ${pct(r.exactMinusCf)} | ${pct(r.exactMinusSoft)} | ${pct(r.exactMinusTwin)} | ${r.exactMarginOverTwoStd?.toFixed(2) ?? '—'}${r.exactMinusTwin.length > 1 && r.exactMinusTwin.every((x) => x > 0) && r.exactMarginOverTwoStd > 1 ? ' (criterion 4 holds)' : ''} |`);
    for (const q of cfPooled.filter((q) => q.exactMinusCf.n)) md.push('', `Pooled over 0.45 / 0.6 / 0.8 and seeds (${q.length}): exact − warm start ${pm(q.exactMinusCf)}, exact − soft ${pm(q.exactMinusSoft)}, exact − twin ${pm(q.exactMinusTwin)}.`);
  }
}
if (cfRows.some((r) => r.feasible.length || r.frozen.length)) {
  md.push('', 'The exact-gradient search with the feasible forward (`--search-forward feasible`, `FEASIBLE=1`) and with α frozen (`--lr-alpha 1e-12`, `FROZEN=1`):', '',
    '| fine-tune | budget | feasible forward | α frozen | argmax forward | warm start, fine-tuned as long | feasible − warm start per seed | feasible − argmax per seed | frozen − warm start per seed |', '|---|---|---|---|---|---|---|---|---|');
  for (const r of cfRows.filter((r) => r.feasible.length || r.frozen.length)) {
    md.push(`| ${r.length} | ${r.budget.slice(1)} | ${r.feasible.length ? fmt(r.feasible) : '—'} | ${r.frozen.length ? fmt(r.frozen) : '—'} | ${fmt(r.exact)} | ${fmt(r.channelFisher)} | ${pct(r.feasibleMinusCf)} | ${pct(r.feasibleMinusExact)} | ${pct(r.frozenMinusCf)} |`);
  }
}
md.push('', '## Digital (8-bit) channels against accuracy: every fine-tuned network, grouped', '',
  '| group | n | digital channels of 794 | mean cycles | test % |', '|---|---|---|---|---|');
for (const g of byDigital) md.push(`| ${g.group} | ${g.n} | ${g.digital[0] === g.digital[1] ? g.digital[0] : g.digital.join('–')} | ${g.cycles.toFixed(0)} | ${fmt(g.test).replace(/ \(n=\d+\)/, '')} |`);
md.push('', '| point | test % | genuine % | cycles | seconds |', '|---|---|---|---|---|');
for (const p of [...points, ...lrAll, ...noSearch, ...uniform, ...zeroShot, ...least, ...maxPrecise, ...measured, ...shortPoints].sort((a, b) => a.id.localeCompare(b.id))) md.push(`| ${p.sweep}/${p.id} | ${(100 * p.test).toFixed(2)} | ${(100 * p.genuine).toFixed(2)} | ${p.cycles.toFixed(0)} | ${p.seconds.toFixed(0)} |`);
writeFileSync(path.join(E, 'results.md'), md.join('\n') + '\n');
console.log(md.join('\n'));
