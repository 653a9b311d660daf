/** `hetsplit sweep`: λ sweep with a shared warm-up, baselines, worker processes, shards. */
import { existsSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { loadPlatform } from '../hw/platform.js';
import { k8sJob, k8sYaml, slurmScript } from '../pareto/emit.js';
import { defaultBaselines, runSweep, type SweepSpec } from '../pareto/sweep.js';
import { writeFileAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { invocationArgv, lastFlagWins, startEngine, type GlobalArgs } from './common.js';
import { BUDGET_BASELINES } from '../hw/budget.js';
import { planLayers } from '../hw/cost.js';
import { geometry } from '../models/spec.js';
import { exactCostUnsupported } from '../search/exact_cost.js';
import { feasibleForwardUnsupported } from '../search/feasible.js';
import { checkBaseline } from '../train/baselines.js';
import { checkDataFits, resolveBudgetList, resolveConfig, resolveRunModel, train, trainCommandOptions, trainOptions, type TrainArgs } from './train.js';
import { locateCifar } from '../data/locate.js';
import yargs from 'yargs';

/** The CLI's entry, absolute (emitted Slurm scripts run it from any directory). */
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface SweepArgs extends TrainArgs {
  lambdas?: string; budgets?: string; seeds: string; baselines: string; randomOf?: string; jobs: number; shard: string;
  emit?: 'k8s' | 'slurm'; shards: number; cpus: number; image: string; volumeClaim: string; dataClaim: string; out: string;
}

function numbers(flag: string, s: string): number[] {
  const v = s.split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new UserError(`--${flag}: expected comma-separated numbers, got '${s}'`);
  return v;
}

/** The train flags a sweep passes on (everything but the sweep's own and per-point ones). */
const OWN = new Set(['lambdas', 'budgets', 'budget', 'budgetLatencyMs', 'budgetEnergyMj', 'seeds', 'baselines', 'randomOf', 'jobs', 'shard', 'emit', 'shards', 'image', 'volumeClaim', 'dataClaim', 'cpus',
  'out', 'platform', 'model', 'target', 'lambda', 'seed', 'resume', 'fromWarmup', 'engine', 'threads', 'kernels', 'warmupOnly', 'mapping', '_', '$0']);

export const sweepCommand: CommandModule<GlobalArgs, SweepArgs> = {
  command: 'sweep',
  describe: 'one shared warm-up, then search + fine-tune per lambda (and seed), plus baselines; resumable, parallel, shardable',
  builder: (y) => trainOptions(y)
    .option('lambdas', { type: 'string', describe: "comma-separated lambda values, or 'none' (default 0,0.1,0.3,1,3 unless --budgets)" })
    .option('budgets', { type: 'string', describe: 'comma-separated budgets (train --budget: fractions of the dearest all-on-one-CU mapping, or min-latency, min-energy, all:<cu>)' })
    .option('seeds', { type: 'string', default: '42', describe: 'comma-separated seeds (one search per lambda and seed)' })
    .option('baselines', { type: 'string', default: 'auto', describe: "'auto' (every all:<cu>, min-latency, min-<target>; with --budgets also max-precise at each budget), 'none', or a comma-separated list (uniform and max-precise run at each budget)" })
    .option('random-of', { type: 'string', describe: "lambdas/budgets whose mapping gets a random-channel twin of the same counts: a list, 'all' or 'none' (default: the median lambda; every budget)" })
    .option('jobs', { type: 'number', default: 1, describe: 'worker processes' })
    .option('shard', { type: 'string', default: '0/1', describe: 'run slice i of n (i/n)' })
    .option('emit', { choices: ['k8s', 'slurm'] as const, describe: 'write a Kubernetes Indexed Job / Slurm array for --shards shards, then exit' })
    .option('shards', { type: 'number', default: 4, describe: 'shards of --emit' })
    .option('cpus', { type: 'number', default: 2, describe: 'CPUs each emitted task requests (and its --threads)' })
    .option('image', { type: 'string', default: 'hetsplit:latest', describe: 'container image for --emit k8s (the repository\'s Dockerfile builds it)' })
    .option('volume-claim', { type: 'string', default: 'hetsplit-sweeps', describe: 'PersistentVolumeClaim holding the sweeps (k8s, mounted at /sweeps)' })
    .option('data-claim', { type: 'string', default: 'hetsplit-data', describe: 'PersistentVolumeClaim holding CIFAR (k8s, mounted read-only at /data)' })
    .option('out', { type: 'string', demandOption: true, describe: 'sweep directory' })
    .option('from-warmup', { type: 'string', describe: 'start every point from this float warm-up (e.g. an imported network) instead of training one' }) as never,
  handler: async (args) => {
    const budgets = args.budgets === undefined ? [] : args.budgets.split(',').map((b) => b.trim()).filter(Boolean);
    const lambdas = args.lambdas === undefined ? (budgets.length ? [] : [0, 0.1, 0.3, 1, 3])
      : args.lambdas === 'none' ? [] : numbers('lambdas', args.lambdas);
    if (lambdas.some((l) => l < 0)) throw new UserError(`--lambdas: expected values >= 0, got ${args.lambdas}`);
    const seeds = numbers('seeds', args.seeds);
    if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new UserError(`--seeds: expected whole numbers >= 0, got '${args.seeds}'`);
    const m = /^(\d+)\/(\d+)$/.exec(args.shard);
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UserError(`--shard: expected i/n with 0 <= i < n, got '${args.shard}'`);
    if (!Number.isInteger(args.jobs) || args.jobs < 1) throw new UserError(`--jobs: expected a whole number >= 1, got ${args.jobs}`);
    const platform = loadPlatform(args.platform);
    const fromWarmup = args.fromWarmup ? path.resolve(args.fromWarmup) : undefined;
    const { spec: model, ref, norm } = resolveRunModel({ model: args.model, fromWarmup }, args.dataset === 'cifar100' ? 100 : 10);
    // Every point's train settings, checked as train checks them, before the warm-up or any point runs.
    resolveConfig({ ...args, seed: seeds[0]!, lambda: 0 }, model.name, norm);
    const modelRef = existsSync(ref) ? path.resolve(ref) : ref;
    const baselines = args.baselines === 'auto' ? defaultBaselines(platform, model, args.target, budgets.length > 0)
      : args.baselines === 'none' ? [] : args.baselines.split(',').map((s) => s.trim()).filter(Boolean);
    // Every budget and baseline is checked (budgets resolved once) before any work starts.
    const plans = planLayers(platform, geometry(model), model.name);
    const resolved = resolveBudgetList(budgets, '--budgets', platform, plans, args.target).map((r) => ({ ...r, target: args.target }));
    for (const b of baselines) {
      if (!BUDGET_BASELINES.includes(b)) { checkBaseline(b, platform, plans, '--baselines', false, null, model); continue; }
      // A budget heuristic runs at every budget of the sweep: checked against each.
      if (!budgets.length) throw new UserError(`--baselines ${b}: runs at each budget of a budget sweep; give --budgets`);
      for (const r of resolved) checkBaseline(b, platform, plans, '--baselines', false, r, model);
    }
    // The search's settings, for every searched point: the exact cost term and the feasible forward need what they need.
    if (args.epochsSearch > 0 && lambdas.length + budgets.length > 0) {
      const noExact = args.costGrad === 'exact' ? exactCostUnsupported(plans, args.relaxation) : null;
      if (noExact) throw new UserError(`--cost-grad exact: ${noExact}`);
      if (args.searchForward === 'feasible') {
        if (lambdas.length) throw new UserError(`--search-forward feasible: it needs a budget, and the λ points (--lambdas ${lambdas.join(',')}) have none; give --lambdas none with --budgets`);
        const noFeasible = feasibleForwardUnsupported(plans, args.relaxation, true);
        if (noFeasible) throw new UserError(`--search-forward feasible: ${noFeasible}`);
      }
    }
    const sorted = [...lambdas].sort((a, b) => a - b);
    const given = args.randomOf === undefined || args.randomOf === 'all' || args.randomOf === 'none' ? null
      : args.randomOf.split(',').map((x) => x.trim()).filter(Boolean);
    const randomOf = args.randomOf === 'none' ? [] : args.randomOf === 'all' ? lambdas
      : given ? given.filter((x) => !budgets.includes(x)).map((x) => numbers('random-of', x)[0]!)
        : sorted.length ? [sorted[Math.floor(sorted.length / 2)]!] : [];
    const randomOfBudgets = args.randomOf === 'none' ? [] : given ? given.filter((x) => budgets.includes(x)) : budgets;
    for (const l of randomOf) if (!lambdas.includes(l)) throw new UserError(`--random-of: ${l} is not one of --lambdas or --budgets`);
    const trainFlags: SweepSpec['train'] = {};
    for (const [k, v] of Object.entries(args)) {
      if (OWN.has(k) || k.includes('-') || v === undefined) continue;
      trainFlags[k] = v as string | number | boolean;
    }
    const dir = path.resolve(args.out);
    if (trainFlags.data) trainFlags.data = path.resolve(String(trainFlags.data));
    const spec: SweepSpec = {
      platform: args.platform, model: modelRef, target: args.target, lambdas, seeds, baselines, randomOf, train: trainFlags,
      ...(fromWarmup ? { fromWarmup } : {}), ...(budgets.length ? { budgets, randomOfBudgets } : {}),
    };

    if (args.emit) {
      if (!Number.isInteger(args.shards) || args.shards < 1) throw new UserError(`--shards: expected a whole number >= 1, got ${args.shards}`);
      if (!Number.isInteger(args.cpus) || args.cpus < 1) throw new UserError(`--cpus: expected a whole number >= 1, got ${args.cpus}`);
      const name = `hetsplit-${path.basename(dir)}`;
      const file = path.join(dir, args.emit === 'k8s' ? 'sweep-k8s.yaml' : 'sweep-slurm.sh');
      if (args.emit === 'k8s') {
        const job = k8sJob({ name, shards: args.shards, cpus: args.cpus, argv: invocationArgv(), image: args.image, volumeClaim: args.volumeClaim, dataClaim: args.dataClaim });
        await writeFileAtomic(file, k8sYaml(job));
        for (const c of job.copies) console.log(`copy ${c.from} onto the sweeps volume as ${c.to.slice('/sweeps/'.length)}`);
      } else {
        await writeFileAtomic(file, slurmScript({ name, shards: args.shards, cpus: args.cpus, main: MAIN, argv: invocationArgv(), logDir: dir }));
        await chmod(file, 0o755);
      }
      console.log(`wrote ${file} (${args.shards} shards; merge with: hetsplit pareto ${args.out})`);
      return;
    }
    // The data too (an emitted job reads the cluster's copy instead): decoded once here, it is
    // what the points trained in this process use.
    const data = await locateCifar({ dataset: args.dataset, data: args.data });
    checkDataFits(data, args.valSize, model);
    const info = await startEngine(args);
    // Worker processes share the engine's threads (1 on engines without a WASM pool).
    const workerThreads = Math.max(1, Math.floor(info.threads / args.jobs));
    await runSweep(dir, spec, {
      workerArgs: ['--engine', args.engine, '--threads', String(workerThreads), '--kernels', args.kernels ?? 'auto'],
      jobs: args.jobs, shard: [Number(m[1]), Number(m[2])], log: (l) => console.log(l),
      trainInProcess: async (argv) => {
        const parsed = await lastFlagWins(trainCommandOptions(yargs(argv))
          .option('engine', { type: 'string', default: args.engine }))
          .strict().exitProcess(false)
          .fail((msg, err) => { throw err ?? new UserError(msg); }).parseAsync();
        await train(parsed as unknown as TrainArgs, info);
      },
    });
    console.log(`sweep ${dir}: done; next: hetsplit pareto ${args.out}`);
  },
};
