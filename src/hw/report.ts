/** The per-layer cost table of one model on one platform (`hetsplit cost`). */
import { stringify } from 'csv-stringify/sync';
import { geometry, type ModelSpec } from '../models/spec.js';
import { layerCost, planLayers, referenceMappings } from './cost.js';
import type { Platform } from './platform.js';

export interface CostReport {
  platform: string;
  model: string;
  clockHz: number;
  layers: {
    name: string; kind: string; cin: number; cout: number; kx: number; ky: number; h: number; w: number;
    stride: number; groups: number;
    searchable: boolean;
    /** Cost with all of the layer's channels on one CU, for each CU that can run it. */
    allOn: Record<string, { cycles: number; energyMJ: number }>;
    /** Channels per CU in the min-latency split. */
    minLatency: Record<string, number>;
  }[];
  totals: Record<string, { cycles: number; ms: number; energyMJ: number }>;
  /** For conv-vs-depthwise platforms: what the conv CU computes on a split layer. */
  splitNote?: string;
}

export function costReport(p: Platform, model: ModelSpec): CostReport {
  const modelName = model.name;
  const plans = planLayers(p, geometry(model), modelName);
  const mappings = referenceMappings(p, plans);
  const minLatency = mappings.find((m) => m.name === 'min-latency')!;
  const layers = plans.map((plan, l) => {
    const allOn: CostReport['layers'][number]['allOn'] = {};
    for (const i of plan.eligible) {
      const counts = p.cus.map((_, j) => (j === i ? plan.layer.cout : 0));
      const c = layerCost(p, plan, counts);
      allOn[p.cus[i]!.name] = { cycles: c.latencyCycles, energyMJ: c.energyMJ };
    }
    const g = plan.layer;
    return {
      name: g.name, kind: g.kind, cin: g.cin, cout: g.cout, kx: g.kx, ky: g.ky, h: g.h, w: g.w,
      stride: g.stride, groups: g.groups, searchable: plan.searchable, allOn,
      minLatency: Object.fromEntries(p.cus.map((cu, i) => [cu.name, minLatency.counts[l]![i]!])),
    };
  });
  const totals: CostReport['totals'] = {};
  for (const m of mappings) totals[m.name] = { cycles: m.cost.cycles, ms: m.cost.ms, energyMJ: m.cost.energyMJ };
  const splitNote = p.split.style === 'conv-vs-depthwise'
    ? `split layers: ${p.cus[p.split.conv]!.name} computes its channels as a standard ${'conv'} (groups 1), ${p.cus[p.split.depthwise]!.name} as depthwise`
    : undefined;
  return { platform: p.name, model: modelName, clockHz: p.clockHz, layers, totals, ...(splitNote ? { splitNote } : {}) };
}

export function costCsv(r: CostReport, cuNames: string[]): string {
  const rows = r.layers.map((l) => {
    const row: Record<string, string | number | boolean> = {
      name: l.name, kind: l.kind, cin: l.cin, cout: l.cout, kx: l.kx, ky: l.ky, h: l.h, w: l.w,
      stride: l.stride, groups: l.groups, searchable: l.searchable,
    };
    for (const cu of cuNames) {
      row[`${cu}.cycles`] = l.allOn[cu]?.cycles ?? '';
      row[`${cu}.energyMJ`] = l.allOn[cu]?.energyMJ ?? '';
    }
    for (const cu of cuNames) row[`minLatency.${cu}`] = l.minLatency[cu] ?? 0;
    return row;
  });
  return stringify(rows, { header: true, cast: { boolean: (v) => String(v) } });
}

const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A fixed-width table for people. */
export function costText(r: CostReport, cuNames: string[]): string {
  const head = ['layer', 'kind', 'cin', 'cout', 'k', 'out', 's', 'g',
    ...cuNames.flatMap((c) => [`${c} cycles`, `${c} uJ`]), 'min-lat split'];
  const rows = r.layers.map((l) => [
    l.name + (l.searchable ? '' : ' (fixed)'), l.kind, String(l.cin), String(l.cout), `${l.kx}x${l.ky}`, `${l.h}x${l.w}`,
    String(l.stride), String(l.groups),
    ...cuNames.flatMap((c) => (l.allOn[c] ? [fmt(l.allOn[c].cycles, 1), fmt(l.allOn[c].energyMJ * 1e3, 3)] : ['-', '-'])),
    cuNames.map((c) => l.minLatency[c] ?? 0).join('/'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [`${r.model} on ${r.platform} (${fmt(r.clockHz / 1e6)} MHz); per layer: all channels on one CU`];
  if (r.splitNote) out.push(r.splitNote);
  out.push(line(head), ...rows.map(line), '', 'network totals:');
  const tw = Math.max(...Object.keys(r.totals).map((k) => k.length));
  for (const [name, t] of Object.entries(r.totals)) {
    out.push(`  ${name.padEnd(tw)}  ${fmt(t.cycles).padStart(13)} cycles  ${fmt(t.ms, 3).padStart(10)} ms  ${fmt(t.energyMJ, 5).padStart(10)} mJ`);
  }
  return out.join('\n');
}
