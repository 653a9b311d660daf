/** Per-CU busy/idle timeline of a schedule, as a vega-lite Gantt chart. */
import type * as vl from 'vega-lite';
import type { Platform } from '../hw/platform.js';
import type { Schedule } from './list.js';

export function timelineSpec(p: Platform, s: Schedule, title: string): vl.TopLevelSpec {
  const us = 1e6 / p.clockHz;
  const values = s.slots.map((x) => ({
    cu: p.cus[x.task.cu]!.name, layer: x.task.layer, start: x.start * us, end: x.end * us,
    channels: x.task.channels, label: x.task.layer,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title, width: 900, height: 40 * p.cus.length + 40,
    data: { values },
    layer: [
      {
        mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          y: { field: 'cu', type: 'nominal', title: 'compute unit', sort: p.cus.map((c) => c.name) },
          x: { field: 'start', type: 'quantitative', title: 'time (µs); gaps are idle' },
          x2: { field: 'end' },
          color: { field: 'layer', type: 'nominal', legend: null, scale: { scheme: 'tableau20' } },
          tooltip: [{ field: 'layer' }, { field: 'cu' }, { field: 'channels' }, { field: 'start', format: '.2f' }, { field: 'end', format: '.2f' }],
        },
      },
      {
        mark: { type: 'text', angle: 270, fontSize: 8, baseline: 'middle', dx: 0 },
        encoding: {
          y: { field: 'cu', type: 'nominal', sort: p.cus.map((c) => c.name) },
          x: { field: 'start', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    ],
  } as vl.TopLevelSpec;
}
