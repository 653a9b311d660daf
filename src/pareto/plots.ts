/**
 * Plots as files: vega-lite specs rendered headless to SVG (vega's 'none' renderer) and
 * to PNG with resvg.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { MappingFile } from '../hw/mapping_file.js';
import { costOf, isRandomTwin, paretoFront, type FrontResult, type Objective } from './front.js';

export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, scale = 2): Uint8Array {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true } }).render().asPng();
}

const AXIS: Record<Objective | 'latencyMs', string> = {
  energy: 'energy per inference (mJ)',
  latency: 'latency (cycles)',
  latencyMs: 'latency per inference (ms)',
};

/** Accuracy vs energy or latency: searched points, their front as a step line, baselines as labelled marks. */
export function frontSpec(f: FrontResult, axis: 'energy' | 'latencyMs'): vl.TopLevelSpec {
  const objective: Objective = axis === 'energy' ? 'energy' : 'latency';
  const x = (r: FrontResult['rows'][number]) => (axis === 'energy' ? r.energyMJ : r.latencyMs);
  const rows = f.rows.map((r) => ({
    x: x(r), accuracy: 100 * r.testAccuracy, kind: r.kind,
    // Searched points are labelled with λ (or their budget); baselines are told apart by colour (legend).
    // Random twins share one series: each copies a searched point's counts (its label says which).
    series: r.kind !== 'baseline' ? 'searched' : isRandomTwin(r) ? 'random twin (searched counts)' : `baseline ${r.mapping ?? r.run}`,
    label: r.kind !== 'searched' ? '' : r.budgetSpec ? `b=${r.budgetSpec.replace(/ x all:.*$/, '').replace(/^the cost of /, '')}` : `λ=${r.lambda}`,
  }));
  // The front for this axis (a front on energy need not be one on latency).
  const searched = f.rows.filter((r) => r.kind === 'searched');
  const onFront = paretoFront(searched, (r) => r.testAccuracy, (r) => costOf(r, objective));
  const front = searched.filter((_, i) => onFront.has(i))
    .map((r) => ({ x: x(r), accuracy: 100 * r.testAccuracy }))
    .sort((a, b) => a.x - b.x);
  const xs = { field: 'x', type: 'quantitative' as const, title: AXIS[axis], scale: { zero: false } };
  const ys = { field: 'accuracy', type: 'quantitative' as const, title: 'test accuracy (%)', scale: { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${f.model} on ${f.platform}: accuracy vs ${axis === 'energy' ? 'energy' : 'latency'}`,
    width: 520, height: 340,
    layer: [
      { data: { values: front }, mark: { type: 'line', interpolate: 'step-after', color: '#4c78a8', strokeDash: [4, 2] }, encoding: { x: xs, y: ys } },
      {
        data: { values: rows }, mark: { type: 'point', filled: true, size: 90 },
        encoding: {
          x: xs, y: ys,
          shape: { field: 'kind', type: 'nominal', title: 'kind', scale: { domain: ['searched', 'baseline'], range: ['circle', 'square'] } },
          color: { field: 'series', type: 'nominal', title: 'run', scale: { scheme: 'tableau10' }, legend: { labelLimit: 320 } },
        },
      },
      { data: { values: rows }, mark: { type: 'text', dx: 6, dy: -8, align: 'left', fontSize: 10 }, encoding: { x: xs, y: ys, text: { field: 'label' } } },
    ],
  } as vl.TopLevelSpec;
}

/** Per-layer stacked bar of the fraction of output channels on each CU. */
export function mappingSpec(m: MappingFile, title: string): vl.TopLevelSpec {
  const values = m.layers.flatMap((l, k) => {
    const total = Object.values(l.channels).reduce((s, c) => s + c.length, 0);
    return Object.entries(l.channels).map(([cu, ch]) => ({ layer: l.name, order: k, cu, fraction: ch.length / total, channels: ch.length }));
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: Math.max(300, 22 * m.layers.length), height: 220,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'layer', type: 'nominal', sort: { field: 'order' }, title: 'layer', axis: { labelAngle: -60 } },
      y: { field: 'fraction', type: 'quantitative', stack: 'normalize', title: 'fraction of output channels', axis: { format: '%' } },
      color: { field: 'cu', type: 'nominal', title: 'compute unit' },
      tooltip: [{ field: 'layer' }, { field: 'cu' }, { field: 'channels' }],
    },
  } as vl.TopLevelSpec;
}
