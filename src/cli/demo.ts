/**
 * `hetsplit demo`: the newcomer's first run, a real (small) front. Engine self-check; the
 * bundled float ResNet20 (the ODiMO reference's warm-up, assets/models) imported by our own
 * ONNX import; a latency-budget sweep on DIANA plus the all:digital, all:analog and
 * min-latency baselines and the max-precise heuristic at each budget (the most digital
 * channels that fit it), each fine-tuned briefly on a slice of CIFAR-10 and tested on the
 * genuine-pixel test records; then the front (table, plots, report.html). Rerunning it
 * resumes what is done; `--fresh`, or other settings, start it afresh.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import type { FrontResult } from '../pareto/front.js';
import { SENSITIVITY_SCORES, type SensitivityScore } from '../search/sensitivity.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { lastFlagWins, startEngine, withGlobals, type GlobalArgs } from './common.js';
import { checkKernels } from './engine.js';
import { importCommand } from './import.js';
import { paretoCommand } from './pareto.js';
import { sweepCommand } from './sweep.js';
import { checkDataFits, resolveBudgetList } from './train.js';
import { locateCifar } from '../data/locate.js';
import { planLayers } from '../hw/cost.js';
import { loadPlatform } from '../hw/platform.js';
import { resolveModel } from '../models/resolve.js';
import { geometry } from '../models/spec.js';

interface DemoArgs extends GlobalArgs {
  out: string; budgets: string; trainLimit: number; testLimit: number; valSize: number; batch: number;
  epochsSearch: number; epochsFinetune: number; lr: number; sensitivity: SensitivityScore;
  searchForward: 'argmax' | 'feasible'; costGrad: 'soft' | 'exact'; seed: number; jobs: number; fresh: boolean; data?: string;
}

export const DEMO_MODEL = fileURLToPath(new URL('../../assets/models/resnet20-odimo-fp.onnx', import.meta.url));

export const demoCommand: CommandModule<GlobalArgs, DemoArgs> = {
  command: 'demo',
  describe: 'engine self-check, then a small latency-budget front of ResNet20 on DIANA from a pretrained float network (about 3 minutes on 2 cores)',
  builder: (y) => y
    .option('out', { type: 'string', default: 'runs/demo', describe: 'demo directory (rerun: resumes; other settings or --fresh: starts afresh)' })
    .option('budgets', {
      type: 'string', default: 'min-latency,0.4,0.6,0.8',
      describe: 'latency budgets searched: min-latency (the min-latency baseline\'s cost, so the searched front spans the baselines\' range) and fractions of all:digital',
    })
    .option('train-limit', { type: 'number', default: 1280, describe: 'training images per epoch' })
    .option('test-limit', { type: 'number', default: 1017, describe: 'test records (the first 1,017 are the genuine-pixel ones)' })
    .option('val-size', { type: 'number', default: 500, describe: 'validation images held out of the training split' })
    .option('batch', { type: 'number', default: 64, describe: 'batch size' })
    .option('epochs-search', { type: 'number', default: 1, describe: 'search epochs per budget (baselines fine-tune search + fine-tune epochs)' })
    .option('epochs-finetune', { type: 'number', default: 1, describe: 'fine-tune epochs after each search' })
    .option('lr', {
      type: 'number', default: 1e-4,
      describe: 'peak SGD lr of the weights in the search and every fine-tune (train\'s default 1e-3 takes the calibrated networks of these 20-step phases below where they started)',
    })
    .option('sensitivity', {
      choices: SENSITIVITY_SCORES, default: 'taylor' as SensitivityScore,
      describe: 'warm start\'s channel score (train\'s default is channel-fisher; at these 20-step phases with an α search taylor measured +1.5 points at 0.4, 3 seeds: experiments/demo-lr)',
    })
    .option('search-forward', {
      choices: ['argmax', 'feasible'] as const, default: 'feasible' as const,
      describe: 'the mapping each search trains (train --search-forward; train\'s default is argmax: at these 20-step phases the argmax left the min-latency budget and its projection cost 3-4 points, 3 seeds: experiments/demo-lr)',
    })
    .option('cost-grad', {
      choices: ['soft', 'exact'] as const, default: 'exact' as const,
      describe: 'the search cost term\'s gradient (train --cost-grad; with the feasible forward, exact measured ahead of soft at 0.4 on every seed: experiments/demo-lr)',
    })
    .option('seed', { type: 'number', default: 42, describe: 'seed of every point' })
    .option('jobs', { type: 'number', default: 1, describe: 'points trained at once (worker processes sharing the threads)' })
    .option('data', { type: 'string', describe: 'CIFAR-10 location (default: found as train does)' })
    .option('fresh', { type: 'boolean', default: false, describe: 'delete the demo directory and start afresh' }) as never,
  handler: async (args) => {
    const t0 = performance.now();
    if (!(Number.isFinite(args.lr) && args.lr > 0)) throw new UserError(`--lr: expected a positive number, got ${args.lr}`);
    // The demo's own flags by their own names, the budgets and the data, before any work.
    for (const [flag, v, min] of [['train-limit', args.trainLimit, 0], ['test-limit', args.testLimit, 0], ['val-size', args.valSize, 1], ['batch', args.batch, 1],
      ['epochs-search', args.epochsSearch, 0], ['epochs-finetune', args.epochsFinetune, 0], ['seed', args.seed, 0], ['jobs', args.jobs, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new UserError(`--${flag}: expected a whole number >= ${min}, got ${v}`);
    }
    const platform = loadPlatform('diana');
    const model = resolveModel(DEMO_MODEL);
    const plans = planLayers(platform, geometry(model), model.name);
    const budgets = args.budgets.split(',').map((b) => b.trim()).filter(Boolean);
    if (!budgets.length) throw new UserError(`--budgets: expected comma-separated budgets, got '${args.budgets}'`);
    resolveBudgetList(budgets, '--budgets', platform, plans, 'latency');
    checkDataFits(await locateCifar({ dataset: 'cifar10', data: args.data }), args.valSize, model);
    const info = await startEngine(args);
    if (info.engine === 'wasm' && !(await checkKernels())) throw new Error('engine self-check failed');
    const dir = path.resolve(args.out);
    const settings = {
      budgets: args.budgets, trainLimit: args.trainLimit, testLimit: args.testLimit, valSize: args.valSize, batch: args.batch,
      epochsSearch: args.epochsSearch, epochsFinetune: args.epochsFinetune, lr: args.lr, sensitivity: args.sensitivity,
      searchForward: args.searchForward, costGrad: args.costGrad, seed: args.seed, data: args.data ?? null,
    };
    const marker = path.join(dir, 'demo.json');
    if (existsSync(dir)) {
      if (!existsSync(marker)) throw new UserError(`--out ${args.out}: exists and is not a demo directory (no demo.json); choose another --out`);
      const saved = JSON.parse(readFileSync(marker, 'utf8')) as unknown;
      if (args.fresh || JSON.stringify(saved) !== JSON.stringify(settings)) {
        console.log(`demo: starting afresh in ${dir}${args.fresh ? '' : ' (other settings than the demo there)'}`);
        rmSync(dir, { recursive: true, force: true });
      } else {
        console.log(`demo: resuming ${dir} (finished points are kept; --fresh starts afresh)`);
      }
    }
    await writeJsonAtomic(marker, settings);
    const engine = ['--engine', args.engine, ...(args.threads ? ['--threads', String(args.threads)] : [])];
    const data = args.data ? ['--data', args.data] : [];
    const warm = path.join(dir, 'warmup');
    if (!existsSync(path.join(warm, 'warmup.bin'))) {
      rmSync(warm, { recursive: true, force: true });
      await run(['import', DEMO_MODEL, '--out', warm, '--no-eval', ...engine, ...data]);
    }
    const sweep = path.join(dir, 'sweep');
    await run(['sweep', '--platform', 'diana', '--target', 'latency', '--from-warmup', warm,
      '--lambdas', 'none', '--budgets', args.budgets, '--seeds', String(args.seed),
      '--baselines', 'all:digital,all:analog,min-latency,max-precise', '--random-of', 'none',
      '--epochs-search', String(args.epochsSearch), '--epochs-finetune', String(args.epochsFinetune),
      '--lr-weights', String(args.lr), '--lr-finetune', String(args.lr), '--sensitivity', args.sensitivity,
      '--search-forward', args.searchForward, '--cost-grad', args.costGrad, '--train-limit', String(args.trainLimit), '--test-limit', String(args.testLimit),
      '--val-size', String(args.valSize), '--batch', String(args.batch), '--jobs', String(args.jobs), '--out', sweep, ...engine, ...data]);
    await run(['pareto', sweep, '--objective', 'latency', '--out', dir, ...engine]);
    const front = JSON.parse(readFileSync(path.join(dir, 'front.json'), 'utf8')) as FrontResult;
    console.log('');
    console.log(frontTable(front));
    console.log('');
    console.log(`front: ${path.join(dir, 'accuracy-latency.png')}`);
    console.log(`report: ${path.join(dir, 'report.html')}`);
    const s = (performance.now() - t0) / 1000;
    console.log(`demo: ${s >= 60 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`} (finished points are reused on a rerun)`);
  },
};

/** The front as a text table: every run, cheapest first, the searched front marked. */
export function frontTable(f: FrontResult): string {
  const rows = [...f.rows].sort((a, b) => a.latencyCycles - b.latencyCycles);
  const head = ['run', 'kind', 'test %', 'genuine %', 'latency ms', 'energy mJ', 'front'];
  const body = rows.map((r) => [
    r.run.replace(/^points\//, ''), r.kind === 'searched' ? (r.budgetSpec ? `budget ${r.budgetSpec}` : `λ ${r.lambda}`) : `baseline ${r.mapping}${r.budgetSpec ? ` at ${r.budgetSpec}` : ''}`,
    (100 * r.testAccuracy).toFixed(2), r.genuineTestAccuracy === null ? '-' : (100 * r.genuineTestAccuracy).toFixed(2),
    r.latencyMs.toFixed(4), r.energyMJ.toFixed(5), r.onFront ? '*' : '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n');
}

/** One hetsplit command, in this process (the engine is already up). */
async function run(argv: string[]): Promise<void> {
  console.log(`\n$ hetsplit ${argv.map((a) => (/[\s]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
  await lastFlagWins(withGlobals(yargs(argv)))
    .command(importCommand as never).command(sweepCommand as never).command(paretoCommand as never)
    .strict().exitProcess(false)
    .fail((msg, err) => { throw err ?? new UserError(msg); })
    .parseAsync();
}
