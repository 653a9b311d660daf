/** `hetsplit bench` (npm run bench): training throughput, not a test. */
import type { CommandModule } from 'yargs';
import { initEngine, KERNEL_SETS, type KernelChoice } from '../backend/engine.js';
import { BENCH_CASES, benchCase, benchMeta, profileStep, soakCase, type BenchCase, type SoakResult } from '../train/bench.js';
import { torchAnchor } from '../train/torch_anchor.js';
import { UserError } from '../util/errors.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { startEngine, type GlobalArgs } from './common.js';

interface BenchArgs extends GlobalArgs {
  cases: string[]; batch: number; warmup: number; steps: number; profile: boolean; soak?: number; out: string;
  kernelSets: string[]; torch: boolean;
}

const SETS = KERNEL_SETS.filter((k) => k !== 'auto');

export const benchCommand: CommandModule<GlobalArgs, BenchArgs> = {
  command: 'bench',
  describe: 'measure training and forward img/s (median of timed steps after warm-up)',
  builder: (y) => y
    .option('cases', { type: 'array', string: true, default: [...BENCH_CASES], describe: 'float-<model> or <platform>-search-<model>' })
    .option('batch', { type: 'number', default: 128 })
    .option('warmup', { type: 'number', default: 2 })
    .option('steps', { type: 'number', default: 5 })
    .option('profile', { type: 'boolean', default: false, describe: 'also print the per-kernel time table of one step' })
    .option('soak', { type: 'number', describe: 'instead: run N steps of each case, sampling RSS and numTensors every 50 (leak check)' })
    .option('kernel-sets', {
      type: 'array', string: true, default: [...SETS],
      describe: `kernel sets to time in turn on the wasm engine (${SETS.join(', ')}); one that cannot load is reported and skipped`,
    })
    .option('torch', { type: 'boolean', default: true, describe: 'also time PyTorch\'s float ResNet20 step (where a Python with torch exists) and print ratios' })
    .option('out', { type: 'string', default: 'bench.json' }) as never,
  handler: async (args) => {
    if (args.soak !== undefined && !(Number.isInteger(args.soak) && args.soak >= 1)) {
      throw new UserError(`--soak: expected a whole number of steps >= 1, got ${args.soak}`);
    }
    await startEngine(args);
    if (args.soak !== undefined) {
      const soaks: SoakResult[] = [];
      for (const model of args.cases) {
        const r = soakCase(model, args.batch, args.soak, 50, (smp, n) => {
          process.stderr.write(`\r${model}: step ${smp.step}/${n}  rss ${smp.rssMB.toFixed(0)} MB  tensors ${smp.numTensors}   `);
        });
        process.stderr.write('\n');
        soaks.push(r);
        const first = r.samples[0]!, last = r.samples[r.samples.length - 1]!;
        console.log(`${r.name} x${r.steps} steps (batch ${r.batch}): RSS ${first.rssMB.toFixed(0)} -> ${last.rssMB.toFixed(0)} MB ` +
          `(last quarter vs second quarter ${r.rssGrowthMB >= 0 ? '+' : ''}${r.rssGrowthMB.toFixed(1)} MB), numTensors ${first.numTensors} -> ${last.numTensors} (flat: ${r.numTensorsFlat})`);
      }
      await writeJsonAtomic(args.out, { ...benchMeta(), soak: soaks });
      console.log(`wrote ${args.out}`);
      return;
    }
    for (const k of args.kernelSets) {
      if (!(SETS as readonly string[]).includes(k)) throw new UserError(`--kernel-sets ${k}: expected one of ${SETS.join(', ')}`);
    }
    const info = await startEngine(args);
    const runs: { kernels: string; cases: BenchCase[] }[] = [];
    let peakRss = 0;
    const sets = info.engine === 'wasm' ? args.kernelSets : [info.kernels];
    for (const set of sets) {
      let kernels = info.kernels;
      if (info.engine === 'wasm') {
        try {
          kernels = (await initEngine(args.engine, args.threads, set as KernelChoice)).kernels;
        } catch (e) {
          console.log(`kernels ${set}: skipped (${(e as Error).message})`);
          continue;
        }
      }
      console.log(`-- kernels ${kernels}`);
      const cases: BenchCase[] = [];
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
      runs.push({ kernels, cases });
    }
    let torch = null;
    if (args.torch) {
      const t = torchAnchor(info.threads > 0 ? info.threads : 2, args.batch, args.warmup, args.steps);
      torch = t.anchor;
      if (!t.anchor) console.log(`PyTorch anchor: skipped (${t.reason})`);
      else {
        console.log(`PyTorch ${t.anchor.torch} (${t.anchor.python}, ${t.anchor.threads} threads) float-resnet20 train ${t.anchor.imgPerSec.toFixed(1)} img/s`);
        for (const r of runs) {
          const f = r.cases.find((c) => c.name === 'float-resnet20');
          if (f) console.log(`  ratio kernels ${r.kernels}: float-resnet20 ${(f.trainImgPerSec / t.anchor.imgPerSec).toFixed(2)}x PyTorch`);
        }
      }
    }
    const result = { ...benchMeta(), peakRssMB: Math.round(peakRss / 2 ** 20), runs, torch };
    await writeJsonAtomic(args.out, result);
    console.log(`wrote ${args.out}`);
  },
};
