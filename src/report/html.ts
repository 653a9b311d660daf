/**
 * The study report: one self-contained report.html (vega's runtime inlined, the charts'
 * vega specs compiled here from vega-lite, every number embedded), viewable offline.
 * Accuracy–latency and accuracy–energy fronts (hover for a run's numbers, click to select
 * it), the selected run's per-layer channel split, its per-CU schedule timeline and its
 * training curves, and a table of every run with links to its files.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as vl from 'vega-lite';
import { planLayers } from '../hw/cost.js';
import type { MappingFile } from '../hw/mapping_file.js';
import { loadRunPlatform } from '../hw/platform.js';
import { geometry, type ModelSpec } from '../models/spec.js';
import { MODEL_FILE } from '../models/resolve.js';
import { buildFront, costOf, paretoFront, type FrontRow } from '../pareto/front.js';
import { schedule } from '../schedule/list.js';
import { UserError } from '../util/errors.js';

interface LogRecord {
  phase: string; epoch: number; loss: number; valAccuracy: number; discreteValAccuracy?: number | null;
  discreteCost?: { cycles: number; ms: number; energyMJ: number } | null;
}

/** Everything the page shows of one run. */
export interface ReportRun {
  id: string; run: string; kind: string; label: string; testAccuracy: number; genuineTestAccuracy: number | null;
  latencyMs: number; energyMJ: number; latencyCycles: number; onFrontLatency: boolean; onFrontEnergy: boolean;
  split: { layer: string; order: number; cu: string; channels: number; fraction: number }[];
  timeline: { cu: string; layer: string; start: number; end: number; channels: number }[];
  makespanMs: number | null;
  curve: { step: number; phase: string; epoch: number; loss: number; valAccuracy: number; costMs: number | null }[];
  files: { name: string; href: string }[];
}

export interface ReportData { title: string; platform: string; model: string; cus: string[]; generated: string; runs: ReportRun[] }

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new UserError(`${file}: unreadable (${(e as Error).message.split('\n')[0]})`);
  }
}

/** The report's data from finished runs (rows of collectRuns); links relative to `outDir`. */
export function reportData(rows: FrontRow[], outDir: string): ReportData {
  const lat = buildFront(rows, 'latency');
  const searched = rows.filter((r) => r.kind === 'searched');
  const onEnergy = paretoFront(searched, (r) => r.testAccuracy, (r) => costOf(r, 'energy'));
  let cus: string[] = [];
  const runs = rows.map((r, i): ReportRun => {
    // A run without mapping.json or platform (an older or hand-made one) shows no split or schedule.
    const mappingFile = path.join(r.dir, 'mapping.json');
    const mapping = existsSync(mappingFile) ? readJson<MappingFile>(mappingFile) : null;
    const config = readJson<{ platform?: string; platformFile?: string }>(path.join(r.dir, 'config.json'));
    const platform = mapping && config.platform ? loadRunPlatform(r.dir, { ...config, platform: config.platform }) : null;
    let split: ReportRun['split'] = [], timeline: ReportRun['timeline'] = [], makespanMs: number | null = null;
    if (mapping && platform) {
      cus = platform.cus.map((c) => c.name);
      split = mapping.layers.flatMap((l, k) => {
        const total = Object.values(l.channels).reduce((n, c) => n + c.length, 0);
        return platform.cus.map((cu) => ({ layer: l.name, order: k, cu: cu.name, channels: l.channels[cu.name]?.length ?? 0, fraction: (l.channels[cu.name]?.length ?? 0) / total }));
      });
      // The per-CU schedule (HEFT) of the run's channel counts, when its model spec is there.
      const specFile = path.join(r.dir, MODEL_FILE);
      if (existsSync(specFile)) {
        const spec = readJson<ModelSpec>(specFile);
        const plans = planLayers(platform, geometry(spec), spec.name);
        const counts = mapping.layers.map((l) => platform.cus.map((cu) => l.channels[cu.name]?.length ?? 0));
        const s = schedule(platform, spec, plans, counts, 'heft');
        const us = 1e6 / platform.clockHz;
        timeline = s.slots.map((x) => ({ cu: platform.cus[x.task.cu]!.name, layer: x.task.layer, start: x.start * us, end: x.end * us, channels: x.task.channels }));
        makespanMs = (s.makespan / platform.clockHz) * 1e3;
      }
    }
    const logFile = path.join(r.dir, 'log.jsonl');
    const log = existsSync(logFile)
      ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as LogRecord) : [];
    const curve = log.map((x, step) => ({
      step: step + 1, phase: x.phase, epoch: x.epoch, loss: x.loss, valAccuracy: 100 * x.valAccuracy, costMs: x.discreteCost?.ms ?? null,
    }));
    const rel = (f: string) => path.relative(outDir, path.join(r.dir, f)).split(path.sep).join('/');
    const files = readdirSync(r.dir, { withFileTypes: true })
      .filter((e) => (e.isFile() && /\.(json|jsonl|csv|onnx|svg|png)$/.test(e.name)) || (e.isDirectory() && /export|deploy|onnx|tfjs/.test(e.name)))
      .map((e) => ({ name: e.isDirectory() ? `${e.name}/` : e.name, href: rel(e.name) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    const label = r.kind === 'searched'
      ? (r.budgetSpec ? `b=${r.budgetSpec.replace(/ x all:.*$/, '').replace(/^the cost of /, '')}` : `λ=${r.lambda}`) + ` s${r.seed}`
      : `${r.mapping} s${r.seed}`;
    return {
      id: `r${i}`, run: r.run, kind: r.kind, label, testAccuracy: 100 * r.testAccuracy,
      genuineTestAccuracy: r.genuineTestAccuracy === null ? null : 100 * r.genuineTestAccuracy,
      latencyMs: r.latencyMs, energyMJ: r.energyMJ, latencyCycles: r.latencyCycles,
      onFrontLatency: lat.rows[i]!.onFront, onFrontEnergy: r.kind === 'searched' && onEnergy.has(searched.indexOf(r)),
      split, timeline, makespanMs, curve, files,
    };
  });
  return {
    title: `${rows[0]!.model} on ${rows[0]!.platform}`, platform: rows[0]!.platform, model: rows[0]!.model, cus,
    generated: new Date().toISOString(), runs,
  };
}

type Vl = vl.TopLevelSpec;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Accuracy vs a cost: every run (searched circles, baselines squares), the front as a step line; click selects. */
function frontChart(x: 'latencyMs' | 'energyMJ', title: string): Vl {
  const front = x === 'latencyMs' ? 'onFrontLatency' : 'onFrontEnergy';
  const xs = { field: x, type: 'quantitative' as const, title, scale: { zero: false } };
  const ys = { field: 'testAccuracy', type: 'quantitative' as const, title: 'test accuracy (%)', scale: { zero: false } };
  return {
    $schema: SCHEMA, width: 460, height: 300,
    data: { name: 'runs' },
    layer: [
      {
        transform: [{ filter: `datum.${front}` }, { sort: [{ field: x }], window: [{ op: 'row_number', as: 'i' }] }],
        mark: { type: 'line', interpolate: 'step-after', color: '#4c78a8', strokeDash: [4, 2] },
        encoding: { x: xs, y: ys, order: { field: x } },
      },
      {
        params: [{ name: 'pick', select: { type: 'point', fields: ['id'], on: 'click' } }],
        mark: { type: 'point', filled: true, size: 110, cursor: 'pointer' },
        encoding: {
          x: xs, y: ys,
          shape: { field: 'kind', type: 'nominal', scale: { domain: ['searched', 'baseline'], range: ['circle', 'square'] } },
          color: { field: 'series', type: 'nominal', title: 'run', scale: { scheme: 'tableau10' } },
          tooltip: [
            { field: 'run' }, { field: 'label', title: 'budget / mapping' },
            { field: 'testAccuracy', title: 'test %', format: '.2f' }, { field: 'genuineTestAccuracy', title: 'genuine %', format: '.2f' },
            { field: 'latencyMs', title: 'latency ms', format: '.4f' }, { field: 'energyMJ', title: 'energy mJ', format: '.5f' },
          ],
        },
      },
      { mark: { type: 'text', dx: 7, dy: -8, align: 'left', fontSize: 10 }, encoding: { x: xs, y: ys, text: { field: 'short' } } },
    ],
  } as Vl;
}

function splitChart(cus: string[]): Vl {
  return {
    $schema: SCHEMA, width: 620, height: 220, data: { name: 'split' },
    mark: 'bar',
    encoding: {
      x: { field: 'layer', type: 'nominal', sort: { field: 'order' }, axis: { labelAngle: -60 } },
      y: { field: 'fraction', type: 'quantitative', stack: 'normalize', title: 'output channels', axis: { format: '%' } },
      color: { field: 'cu', type: 'nominal', title: 'compute unit', scale: { domain: cus } },
      tooltip: [{ field: 'layer' }, { field: 'cu' }, { field: 'channels' }],
    },
  } as Vl;
}

function timelineChart(cus: string[]): Vl {
  return {
    $schema: SCHEMA, width: 900, height: 36 * cus.length + 30, data: { name: 'timeline' },
    mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
    encoding: {
      y: { field: 'cu', type: 'nominal', title: 'compute unit', sort: cus },
      x: { field: 'start', type: 'quantitative', title: 'time (µs); gaps are idle' },
      x2: { field: 'end' },
      color: { field: 'layer', type: 'nominal', legend: null, scale: { scheme: 'tableau20' } },
      tooltip: [{ field: 'layer' }, { field: 'cu' }, { field: 'channels' }, { field: 'start', format: '.2f' }, { field: 'end', format: '.2f' }],
    },
  } as Vl;
}

function curveChart(): Vl {
  const x = { field: 'step', type: 'quantitative' as const, title: 'epoch (all phases)', axis: { tickMinStep: 1 } };
  const color = { field: 'phase', type: 'nominal' as const, scale: { domain: ['warmup', 'search', 'finetune'] } };
  const panel = (field: string, title: string) => ({
    width: 280, height: 180,
    mark: { type: 'line', point: true },
    encoding: { x, y: { field, type: 'quantitative', title, scale: { zero: false } }, color, tooltip: [{ field: 'phase' }, { field: 'epoch' }, { field, format: '.4f' }] },
  });
  return { $schema: SCHEMA, data: { name: 'curve' }, hconcat: [panel('loss', 'training loss'), panel('valAccuracy', 'val accuracy (%)'), panel('costMs', 'discrete latency (ms)')] } as Vl;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The whole page. */
export function reportHtml(d: ReportData): string {
  // vega's exports map names only its ES module; the browser build lies beside it.
  const vega = readFileSync(path.join(path.dirname(createRequire(import.meta.url).resolve('vega/vega-schema.json')), 'vega.min.js'), 'utf8');
  const specs = {
    latency: vl.compile(frontChart('latencyMs', 'latency per inference (ms)')).spec,
    energy: vl.compile(frontChart('energyMJ', 'energy per inference (mJ)')).spec,
    split: vl.compile(splitChart(d.cus)).spec,
    timeline: vl.compile(timelineChart(d.cus)).spec,
    curve: vl.compile(curveChart()).spec,
  };
  const best = d.runs.filter((r) => r.kind === 'searched').sort((a, b) => b.testAccuracy - a.testAccuracy)[0] ?? d.runs[0]!;
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');
  const rows = d.runs.map((r) => `<tr data-id="${r.id}"><td><a href="#" class="pick" data-id="${r.id}">${esc(r.run)}</a></td><td>${esc(r.kind)}</td><td>${esc(r.label)}</td>` +
    `<td class="n">${r.testAccuracy.toFixed(2)}</td><td class="n">${r.genuineTestAccuracy === null ? '–' : r.genuineTestAccuracy.toFixed(2)}</td>` +
    `<td class="n">${r.latencyMs.toFixed(4)}</td><td class="n">${r.energyMJ.toFixed(5)}</td><td>${r.onFrontLatency ? '●' : ''}</td>` +
    `<td>${r.files.map((f) => `<a href="${esc(f.href)}">${esc(f.name)}</a>`).join(' ')}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hetsplit report: ${esc(d.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.row{display:flex;flex-wrap:wrap;gap:24px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.sel{background:#fff3c4}
.note{color:#666;font-size:12px}
</style></head><body>
<h1>hetsplit report: ${esc(d.title)}</h1>
<p class="note">${d.runs.length} runs (${d.runs.filter((r) => r.kind === 'searched').length} searched); generated ${esc(d.generated)}. Hover a point for its numbers, click it (or a run in the table, or the list) to show its channel split, schedule and training curves.</p>
<h2>Fronts</h2>
<div class="row"><div id="front-latency"></div><div id="front-energy"></div></div>
<h2>Selected run: <select id="run-select">${d.runs.map((r) => `<option value="${r.id}"${r.id === best.id ? ' selected' : ''}>${esc(r.run)} (${esc(r.label)})</option>`).join('')}</select></h2>
<p id="run-summary"></p>
<h3>Channel split per layer</h3><div id="split"></div>
<h3>Per-CU schedule (HEFT list schedule of the mapping)</h3><div id="timeline"></div>
<h3>Training curves</h3><div id="curve"></div>
<h2>All runs</h2>
<table id="runs"><thead><tr><th>run</th><th>kind</th><th>budget / mapping</th><th>test %</th><th>genuine %</th><th>latency ms</th><th>energy mJ</th><th>latency front</th><th>files</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<script>${vega}</script>
<script>
const DATA = ${json(d)};
const SPECS = ${json(specs)};
const byId = new Map(DATA.runs.map((r) => [r.id, r]));
const points = DATA.runs.map((r) => ({ ...r, series: r.kind === 'searched' ? 'searched' : r.label.startsWith('random(') ? 'random twin (searched counts)' : 'baseline ' + r.label.replace(/ s\\d+$/, ''), short: r.kind === 'searched' ? r.label : '' }));
const views = {};
async function mount(name, el, data) {
  const view = new vega.View(vega.parse(SPECS[name]), { renderer: 'svg', container: el, hover: true });
  for (const [k, v] of Object.entries(data)) view.data(k, v);
  await view.runAsync();
  views[name] = view;
  return view;
}
async function select(id) {
  const r = byId.get(id);
  if (!r) return;
  document.getElementById('run-select').value = id;
  for (const tr of document.querySelectorAll('#runs tbody tr')) tr.classList.toggle('sel', tr.dataset.id === id);
  document.getElementById('run-summary').textContent = r.run + ': ' + r.label + ', test ' + r.testAccuracy.toFixed(2) + '%' +
    (r.genuineTestAccuracy === null ? '' : ' (genuine ' + r.genuineTestAccuracy.toFixed(2) + '%)') + ', ' + r.latencyMs.toFixed(4) + ' ms' +
    (r.makespanMs === null ? '' : ' (scheduled end to end ' + r.makespanMs.toFixed(4) + ' ms)') + ', ' + r.energyMJ.toFixed(5) + ' mJ';
  for (const [name, key] of [['split', 'split'], ['timeline', 'timeline'], ['curve', 'curve']]) {
    const v = views[name];
    v.change(key, vega.changeset().remove(() => true).insert(r[key]));
    await v.runAsync();
  }
  document.body.dataset.selected = id;
}
(async () => {
  const first = byId.get(${json(best.id)});
  for (const name of ['latency', 'energy']) {
    const v = await mount(name, document.getElementById('front-' + name), { runs: points });
    v.addEventListener('click', (_e, item) => { if (item && item.datum && item.datum.id) select(item.datum.id); });
  }
  await mount('split', document.getElementById('split'), { split: first.split });
  await mount('timeline', document.getElementById('timeline'), { timeline: first.timeline });
  await mount('curve', document.getElementById('curve'), { curve: first.curve });
  document.getElementById('run-select').addEventListener('change', (e) => select(e.target.value));
  for (const a of document.querySelectorAll('a.pick')) a.addEventListener('click', (e) => { e.preventDefault(); select(a.dataset.id); });
  await select(first.id);
  document.body.dataset.ready = 'true';
})().catch((e) => { document.body.dataset.error = String(e); throw e; });
</script>
</body></html>
`;
}
