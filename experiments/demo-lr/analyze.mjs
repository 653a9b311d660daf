// The demo-lr table from the finished points: node experiments/demo-lr/analyze.mjs → results.md, results.json
// Per configuration: test % on the 1,017 genuine test records (mean ± std over seeds, and
// per seed), whether the fine-tune kept its starting network (no epoch beat it on
// validation), and for searched points the cost at the end of the search relative to the
// budget, the channels the projection moved back, and the channel moves during the search
// (points run since flips were logged, 2026-11-25).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const E = path.dirname(fileURLToPath(import.meta.url));
const P = path.join(E, 'points');
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
const points = existsSync(P) ? readdirSync(P).filter((id) => existsSync(path.join(P, id, 'metrics.json'))).map((id) => {
  const d = path.join(P, id), m = read(path.join(d, 'metrics.json')), st = read(path.join(d, 'state.json'));
  const log = readFileSync(path.join(d, 'log.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const search = log.filter((r) => r.phase === 'search').at(-1);
  const text = existsSync(`${d}.log`) ? readFileSync(`${d}.log`, 'utf8') : '';
  return {
    id, config: id.replace(/-s\d+$/, ''), seed: Number(id.match(/-s(\d+)$/)[1]), test: m.genuineTestAccuracy,
    keptStart: /no epoch beat the starting network/.test(text),
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
    searchCostOverBudget: ps.map((p) => p.searchCostOverBudget), moved: ps.map((p) => p.moved), flips: ps.map((p) => p.flips) };
});
writeFileSync(path.join(E, 'results.json'), JSON.stringify({ rows, points }, null, 2) + '\n');
const pct = (x) => (100 * x).toFixed(2);
const md = ['| configuration | test % (genuine), mean ± std | per seed | fine-tune kept its start | search-end cost / budget | channels the projection moved | search: channel moves / channels moved |', '|---|---|---|---|---|---|---|'];
for (const r of rows) {
  md.push(`| ${r.config} | ${pct(mean(r.test))} ± ${pct(std(r.test))} (n=${r.test.length}) | ${r.test.map(pct).join(' / ')} | ${r.keptStart.map((k) => (k ? 'yes' : 'no')).join(' / ')} | ` +
    `${r.searchCostOverBudget.every((x) => x === null) ? '—' : r.searchCostOverBudget.map((x) => x.toFixed(3)).join(' / ')} | ${r.moved.every((x) => x === null) ? '—' : r.moved.join(' / ')} | ${r.flips.every((x) => x === null) ? '—' : r.flips.map((x) => x ?? '—').join(' ; ')} |`);
}
writeFileSync(path.join(E, 'results.md'), md.join('\n') + '\n');
console.log(md.join('\n'));
