/** `hetsplit pareto DIR...`: front.csv / front.json, hypervolume, plots (SVG + PNG). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { buildFront, collectRuns, frontCsv, type Objective } from '../pareto/front.js';
import type { MappingFile } from '../hw/mapping_file.js';
import { frontSpec, mappingSpec, renderSvg, svgToPng } from '../pareto/plots.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import type { GlobalArgs } from './common.js';
import { writeReport } from './report.js';

interface ParetoArgs extends GlobalArgs { dirs: string[]; objective: Objective; out?: string; plots: boolean }

export const paretoCommand: CommandModule<GlobalArgs, ParetoArgs> = {
  command: 'pareto <dirs..>',
  describe: 'merge sweeps (or runs) into a Pareto front: front.csv, front.json, hypervolume, plots',
  builder: (y) => y
    .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'sweep or run directories' })
    .option('objective', { choices: ['energy', 'latency'] as const, default: 'energy' as const })
    .option('out', { type: 'string', describe: 'where to write (default: the directory itself; for several, a new directory front-<a>+<b> beside the first)' })
    .option('plots', { type: 'boolean', default: true, describe: 'also write SVG/PNG plots' }) as never,
  handler: async (args) => {
    const rows = collectRuns(args.dirs);
    const f = buildFront(rows, args.objective);
    // One directory: its front goes beside its points. Several: a new directory beside the
    // first, never over the first one's own front.
    const out = path.resolve(args.out ?? (args.dirs.length === 1 ? args.dirs[0]!
      : path.join(path.dirname(path.resolve(args.dirs[0]!)), `front-${args.dirs.map((d) => path.basename(path.resolve(d))).join('+')}`.slice(0, 120))));
    await writeFileAtomic(path.join(out, 'front.csv'), frontCsv(f));
    await writeJsonAtomic(path.join(out, 'front.json'), f);
    console.log(`${rows.length} runs (${rows.filter((r) => r.kind === 'searched').length} searched), ${f.rows.filter((r) => r.onFront).length} on the ${args.objective} front`);
    console.log(`hypervolume (${args.objective}, normalised by ${f.referenceCost.toPrecision(4)}): searched ${f.hypervolume.searched.toFixed(4)}, baselines ${f.hypervolume.baselines.toFixed(4)}` +
      (f.hypervolume.randomTwins !== undefined ? `, random twins ${f.hypervolume.randomTwins.toFixed(4)} (the searched counts, channels at random)` : ''));
    if (args.plots) {
      for (const axis of ['energy', 'latencyMs'] as const) {
        const svg = await renderSvg(frontSpec(f, axis));
        const name = axis === 'energy' ? 'accuracy-energy' : 'accuracy-latency';
        await writeFileAtomic(path.join(out, `${name}.svg`), svg);
        await writeFileAtomic(path.join(out, `${name}.png`), svgToPng(svg));
      }
      for (const r of f.rows) {
        const m = JSON.parse(readFileSync(path.join(r.dir, 'mapping.json'), 'utf8')) as MappingFile;
        const svg = await renderSvg(mappingSpec(m, `${r.run}: ${(100 * r.testAccuracy).toFixed(1)}%, ${r.energyMJ.toPrecision(3)} mJ, ${r.latencyMs.toPrecision(3)} ms`));
        const base = path.join(out, 'mappings', r.run.replace(/[/\\]/g, '_'));
        await writeFileAtomic(`${base}.svg`, svg);
        await writeFileAtomic(`${base}.png`, svgToPng(svg));
      }
      console.log(`plots: ${path.join(out, 'accuracy-energy.png')}, ${path.join(out, 'accuracy-latency.png')}, ${path.join(out, 'mappings')}/`);
    }
    console.log(`wrote ${path.join(out, 'front.csv')} and front.json`);
    const report = path.join(out, 'report.html');
    await writeReport(args.dirs, report);
    console.log(`report: ${report}`);
  },
};
