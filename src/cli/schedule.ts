/** `hetsplit schedule RUN [--policy eft|etf|heft]`: list-scheduled latency and a per-CU timeline. */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadRun } from '../export/load.js';
import { renderSvg, svgToPng } from '../pareto/plots.js';
import { schedule, type Policy } from '../schedule/list.js';
import { timelineSpec } from '../schedule/timeline.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { startEngine, type GlobalArgs } from './common.js';

interface ScheduleArgs extends GlobalArgs { run: string; policy: Policy; out?: string; json: boolean }

export const scheduleCommand: CommandModule<GlobalArgs, ScheduleArgs> = {
  command: 'schedule <run>',
  describe: 'list-schedule the mapped network\'s per-CU tasks: end-to-end latency vs the per-layer sum, and a timeline',
  builder: (y) => y
    .positional('run', { type: 'string', demandOption: true })
    .option('policy', { choices: ['eft', 'etf', 'heft'] as const, default: 'heft' as const })
    .option('out', { type: 'string', describe: 'where to write schedule.json and timeline.svg/png (default: the run directory)' })
    .option('json', { type: 'boolean', default: false }) as never,
  handler: async (args) => {
    // --json: stdout is the JSON only; the engine line goes to stderr.
    await startEngine(args, args.json ? (l) => process.stderr.write(l + '\n') : undefined);
    const run = await loadRun(path.resolve(args.run));
    try {
      const counts = run.model.countsOf(run.assignment);
      const s = schedule(run.platform, run.spec, run.plans, counts, args.policy);
      const out = path.resolve(args.out ?? args.run);
      const ms = (c: number) => (c / run.platform.clockHz) * 1e3;
      const report = {
        policy: s.policy, platform: run.platform.name, model: run.spec.name,
        endToEnd: { cycles: s.makespan, ms: ms(s.makespan) },
        layerSum: { cycles: s.layerSum, ms: ms(s.layerSum) },
        cus: run.platform.cus.map((cu, i) => ({ name: cu.name, busyCycles: s.busy[i]!, utilisation: s.makespan ? s.busy[i]! / s.makespan : 0 })),
        tasks: s.slots.map((x) => ({ layer: x.task.layer, cu: run.platform.cus[x.task.cu]!.name, channels: x.task.channels, start: x.start, end: x.end })),
      };
      await writeJsonAtomic(path.join(out, 'schedule.json'), report);
      const svg = await renderSvg(timelineSpec(run.platform, s, `${run.spec.name} on ${run.platform.name}, ${args.policy}: ${ms(s.makespan).toFixed(4)} ms end to end (per-layer sum ${ms(s.layerSum).toFixed(4)} ms)`));
      await writeFileAtomic(path.join(out, 'timeline.svg'), svg);
      await writeFileAtomic(path.join(out, 'timeline.png'), svgToPng(svg));
      if (args.json) { process.stdout.write(JSON.stringify(report, null, 2) + '\n'); return; }
      console.log(`${args.policy}: end-to-end ${s.makespan.toFixed(0)} cycles (${ms(s.makespan).toFixed(4)} ms); per-layer sum ${s.layerSum.toFixed(0)} cycles (${ms(s.layerSum).toFixed(4)} ms); ` +
        `${(100 * (1 - s.makespan / s.layerSum)).toFixed(1)}% saved by overlapping branches`);
      for (const c of report.cus) console.log(`  ${c.name.padEnd(10)} busy ${c.busyCycles.toFixed(0).padStart(10)} cycles (${(100 * c.utilisation).toFixed(1)}%)`);
      console.log(`wrote ${path.join(out, 'schedule.json')}, ${path.join(out, 'timeline.svg')} and .png`);
    } finally {
      run.model.dispose();
    }
  },
};
