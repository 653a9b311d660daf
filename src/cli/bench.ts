/** `hetsplit bench` (npm run bench): training throughput, not a test. */
import type { CommandModule } from 'yargs';
import { BENCH_CASES, benchCase, benchMeta, profileStep, type BenchCase } from '../train/bench.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { startEngine, type GlobalArgs } from './common.js';

interface BenchArgs extends GlobalArgs {
  cases: string[]; batch: number; warmup: number; steps: number; profile: boolean; out: string;
}

export const benchCommand: CommandModule<GlobalArgs, BenchArgs> = {
  command: 'bench',
  describe: 'measure training and forward img/s (median of timed steps after warm-up)',
  builder: (y) => y
    .option('cases', { type: 'array', string: true, default: [...BENCH_CASES], describe: 'float-<model> or <platform>-search-<model>' })
    .option('batch', { type: 'number', default: 128 })
    .option('warmup', { type: 'number', default: 2 })
    .option('steps', { type: 'number', default: 5 })
    .option('profile', { type: 'boolean', default: false, describe: 'also print the per-kernel time table of one step' })
    .option('out', { type: 'string', default: 'bench.json' }) as never,
  handler: async (args) => {
    await startEngine(args);
    const cases: BenchCase[] = [];
    let peakRss = 0;
    for (const model of args.cases) {
      const c = benchCase(model, args.batch, args.warmup, args.steps, (i, n) => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        process.stderr.write(`\r${model}: step ${i}/${n}`);
      });
      process.stderr.write('\n');
      cases.push(c);
      console.log(`${c.name.padEnd(28)} train ${c.trainImgPerSec.toFixed(1).padStart(7)} img/s (median step ${c.trainStepMsMedian.toFixed(0)} ms) | forward ${c.forwardImgPerSec.toFixed(1).padStart(7)} img/s | tensors flat: ${c.numTensorsStable}`);
      if (args.profile) {
        const p = await profileStep(model, args.batch);
        console.log(`per-kernel time of one ${model} step (${p.totalMs.toFixed(0)} ms wall; 'forward' wraps our custom-gradient ops and includes their inner kernels):`);
        for (const r of p.rows.filter((r) => r.ms >= 0.5)) {
          console.log(`  ${r.kernel.padEnd(36)} ${String(r.calls).padStart(5)} calls ${r.ms.toFixed(1).padStart(9)} ms`);
        }
      }
    }
    const result = { ...benchMeta(), peakRssMB: Math.round(peakRss / 2 ** 20), cases };
    await writeJsonAtomic(args.out, result);
    console.log(`wrote ${args.out}`);
  },
};
