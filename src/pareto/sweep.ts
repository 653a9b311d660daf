/**
 * A λ sweep: ONE shared float warm-up, then one search + fine-tune per (λ, seed), and
 * baselines fine-tuned the same way (same warm-up, as many post-warm-up epochs as
 * search + fine-tune). Every point is a `train` run directory under <sweep>/points/;
 * finished points are skipped and interrupted ones resumed. Points run in-process
 * (jobs = 1) or as N worker processes; `shard i/n` runs one slice, so a cluster's array
 * job (Kubernetes Indexed Job, Slurm array) can run the slices against one directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUDGET_BASELINES } from '../hw/budget.js';
import { allOnCounts, planLayers } from '../hw/cost.js';
import type { Platform } from '../hw/platform.js';
import { geometry, type ModelSpec } from '../models/spec.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { lockHolder } from '../util/lock.js';
import { atOlderDefault } from '../util/settings.js';

export interface SweepSpec {
  platform: string;
  model: string;
  target: 'energy' | 'latency';
  lambdas: number[];
  seeds: number[];
  /**
   * Fixed mappings fine-tuned as baselines (all:<cu>, min-latency, min-energy); the budget
   * heuristics (uniform, max-precise) run once per budget of a budget sweep.
   */
  baselines: string[];
  /** λ values whose searched mapping gets a twin with the same counts and random channels. */
  randomOf: number[];
  /** Every other `train` flag (epochs, batch, lrs, data...), camelCase → value. */
  train: Record<string, string | number | boolean>;
  /** A float warm-up every point starts from (e.g. an imported network); else the sweep trains one. */
  fromWarmup?: string;
  /** Budget mode: one searched point per budget (train --budget: a fraction or a baseline name) and seed. */
  budgets?: string[];
  /** Budgets whose searched mapping gets a random-channel twin of the same counts. */
  randomOfBudgets?: string[];
}

export interface SweepPoint {
  id: string;
  kind: 'searched' | 'baseline';
  lambda: number | null;
  /** Budget-mode searched points and budget heuristics: the budget as given. */
  budget?: string | null;
  seed: number;
  /** For baselines: the fixed mapping (random ones name their source run). */
  mapping: string | null;
  /** A point that must finish first (random baselines). */
  dependsOn: string | null;
}

/**
 * Baselines that exist on a platform for a model: every all:<cu>, min-latency,
 * min-<target>, and in a budget sweep max-precise (the most channels on the precise CUs
 * that fit each budget: the strongest cost-only heuristic at the searched points' own cost).
 */
export function defaultBaselines(p: Platform, model: ModelSpec, target: 'energy' | 'latency', budgets = false): string[] {
  const plans = planLayers(p, geometry(model), model.name);
  const all = p.cus.filter((cu) => allOnCounts(p, plans, cu.index)).map((cu) => `all:${cu.name}`);
  const choice = plans.some((plan) => plan.searchable && plan.eligible.length > 1);
  return [...all, 'min-latency', ...(target === 'energy' ? ['min-energy'] : []), ...(budgets && choice ? ['max-precise'] : [])];
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9.]+/g, '-');

export function planPoints(spec: SweepSpec, dir: string): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const seed of spec.seeds) {
    for (const lambda of spec.lambdas) {
      points.push({ id: `l${lambda}-s${seed}`, kind: 'searched', lambda, seed, mapping: null, dependsOn: null });
    }
    for (const budget of spec.budgets ?? []) {
      points.push({ id: `b${slug(budget)}-s${seed}`, kind: 'searched', lambda: null, budget, seed, mapping: null, dependsOn: null });
    }
    for (const b of spec.baselines) {
      if (BUDGET_BASELINES.includes(b)) {
        for (const budget of spec.budgets ?? []) {
          points.push({ id: `${slug(b)}-b${slug(budget)}-s${seed}`, kind: 'baseline', lambda: null, budget, seed, mapping: b, dependsOn: null });
        }
        continue;
      }
      points.push({ id: `${slug(b)}-s${seed}`, kind: 'baseline', lambda: null, seed, mapping: b, dependsOn: null });
    }
    const twins = [...spec.randomOf.map((l) => `l${l}`), ...(spec.randomOfBudgets ?? []).map((b) => `b${slug(b)}`)];
    for (const key of twins) {
      const src = `${key}-s${seed}`;
      points.push({
        id: `random-${key}-s${seed}`, kind: 'baseline', lambda: null, seed,
        mapping: `random:${path.join(dir, 'points', src)}`, dependsOn: src,
      });
    }
  }
  return points;
}

/**
 * The points of shard i of n: whole groups (a point and the random-channel twins that
 * depend on it) dealt round-robin, so no shard waits for another's searched point.
 */
export function shardOf(points: SweepPoint[], shard: number, shards: number): SweepPoint[] {
  const groups: string[] = [];
  for (const p of points) if (!p.dependsOn && !groups.includes(p.id)) groups.push(p.id);
  const groupOf = (p: SweepPoint) => groups.indexOf(p.dependsOn ?? p.id);
  return points.filter((p) => groupOf(p) % shards === shard);
}

export interface SweepOptions {
  jobs: number;
  shard: [number, number];
  log: (line: string) => void;
  /** Flags added to each worker process's `train` (engine, threads). */
  workerArgs?: string[];
  /** Runs one `train` in this process (jobs = 1). */
  trainInProcess: (argv: string[]) => Promise<void>;
  /** Seconds between checks for work another shard does (warm-up, random sources). */
  pollSeconds?: number;
}

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** `train` flags for a point: the sweep's train settings plus the point's own. */
export function trainArgv(spec: SweepSpec, extra: Record<string, string | number | boolean>): string[] {
  const flags: Record<string, string | number | boolean> = {
    ...spec.train, platform: spec.platform, model: spec.model, target: spec.target, ...extra,
  };
  return Object.entries(flags).flatMap(([k, v]) => {
    const flag = '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
    if (typeof v === 'boolean') return v ? [flag] : [];
    return [flag, String(v)];
  });
}

/**
 * The `train` command line of one point: a searched point searches at its λ or budget; a
 * baseline fine-tunes its mapping (a budget heuristic at its budget) for as many epochs as
 * a searched point searches + fine-tunes.
 */
export function pointArgv(spec: SweepSpec, p: SweepPoint, out: string, warm: string, resume: boolean): string[] {
  const epochsPost = Number(spec.train.epochsSearch ?? 0) + Number(spec.train.epochsFinetune ?? 0);
  return trainArgv(spec, {
    seed: p.seed, out, fromWarmup: warm,
    ...(p.kind === 'searched'
      ? (p.budget ? { budget: p.budget } : { lambda: p.lambda! })
      : { lambda: 0, mapping: p.mapping!, epochsSearch: 0, epochsFinetune: epochsPost, ...(p.budget ? { budget: p.budget } : {}) }),
    ...(resume ? { resume: true } : {}),
  });
}

const done = (runDir: string) => existsSync(path.join(runDir, 'metrics.json'));
const started = (runDir: string) => existsSync(path.join(runDir, 'state.json')) || existsSync(path.join(runDir, 'config.json'));

export async function runSweep(dir: string, spec: SweepSpec, o: SweepOptions): Promise<SweepPoint[]> {
  await fs.mkdir(dir, { recursive: true });
  const specFile = path.join(dir, 'sweep.json');
  if (existsSync(specFile)) {
    const saved = JSON.parse(await fs.readFile(specFile, 'utf8')) as SweepSpec;
    // A train setting added after the sweep was started, at its neutral default (0, false,
    // or the value older runs had: util/settings.ts), changes nothing: compare without it.
    const train = Object.fromEntries(Object.entries(spec.train).filter(([k, v]) => k in saved.train || (v !== 0 && v !== false && !atOlderDefault(k, v))));
    if (JSON.stringify(saved) !== JSON.stringify({ ...spec, train })) {
      throw new UserError(`${specFile}: this directory holds a sweep with other settings; use the same flags or another --out`);
    }
  } else {
    await writeJsonAtomic(specFile, spec);
  }
  const [shard, shards] = o.shard;
  const poll = (o.pollSeconds ?? 5) * 1000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  // 1. The shared warm-up: shard 0 trains it, the other shards wait for it.
  const warm = spec.fromWarmup ?? path.join(dir, 'warmup');
  const warmBin = path.join(warm, 'warmup.bin');
  if (spec.fromWarmup && !existsSync(warmBin)) throw new UserError(`--from-warmup ${spec.fromWarmup}: no warmup.bin there`);
  if (!existsSync(warmBin)) {
    if (shard === 0) {
      o.log(`warm-up -> ${warm}`);
      await runOne(o, 1, trainArgv(spec, {
        seed: spec.seeds[0]!, out: warm, warmupOnly: true, lambda: 0, epochsSearch: 0, epochsFinetune: 0,
        ...(started(warm) ? { resume: true } : {}),
      }), path.join(dir, 'warmup.log'));
    } else {
      o.log(`shard ${shard}/${shards}: waiting for shard 0 to train the warm-up in ${warm}`);
      const t = performance.now();
      while (!existsSync(warmBin)) {
        await sleep(poll);
        const min = (performance.now() - t) / 60000;
        if (Math.floor(min / 10) > Math.floor((min - poll / 60000) / 10)) o.log(`shard ${shard}/${shards}: still waiting for the warm-up (${min.toFixed(0)} min; is shard 0 running?)`);
      }
    }
  }

  // 2. The points of this shard.
  const all = planPoints(spec, dir);
  const mine = shardOf(all, shard, shards);
  const pointDir = (p: SweepPoint) => path.join(dir, 'points', p.id);
  const argvOf = (p: SweepPoint) => pointArgv(spec, p, pointDir(p), warm, started(pointDir(p)));
  const todo = mine.filter((p) => !done(pointDir(p)));
  o.log(`shard ${shard}/${shards}: ${mine.length} point(s), ${mine.length - todo.length} already done`);
  mkdirSync(path.join(dir, 'points'), { recursive: true });
  const running = new Set<Promise<void>>();
  let finished = mine.length - todo.length;
  const t0 = performance.now();
  while (todo.length > 0 || running.size > 0) {
    // A point another live process is training (a duplicated shard, an earlier sweep still
    // running) is left to it.
    for (let i = todo.length - 1; i >= 0; i--) {
      const holder = lockHolder(pointDir(todo[i]!));
      if (holder) {
        o.log(`skip  ${todo[i]!.id}: process ${holder.pid} on ${holder.host} is training it`);
        todo.splice(i, 1);
      }
    }
    const ready = todo.findIndex((p) => !p.dependsOn || done(path.join(dir, 'points', p.dependsOn)));
    if (ready >= 0 && running.size < o.jobs) {
      const p = todo.splice(ready, 1)[0]!;
      o.log(`start ${p.id}${p.mapping ? ` (${p.mapping.startsWith('random:') ? `random channels, counts of ${p.dependsOn}` : p.mapping})` : ''}`);
      const job = runOne(o, o.jobs, argvOf(p), path.join(dir, 'points', `${p.id}.log`)).then(() => {
        finished++;
        o.log(`done  ${p.id} (${finished}/${mine.length} points, ${((performance.now() - t0) / 60000).toFixed(1)} min)`);
      });
      const tracked = job.finally(() => running.delete(tracked));
      running.add(tracked);
      continue;
    }
    if (running.size > 0) {
      await Promise.race(running);
    } else {
      // Only points waiting for another shard's work remain.
      await sleep(poll);
    }
  }
  return mine;
}

/** Live worker processes: stopped with this process (exit, Ctrl-C, SIGTERM). */
const workers = new Set<ChildProcess>();
let reaperInstalled = false;
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  const killAll = () => { for (const w of workers) w.kill('SIGTERM'); };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { killAll(); process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)); });
  }
}

/** One `train`: in this process for jobs = 1, else a worker process logging to `logFile`. */
async function runOne(o: SweepOptions, jobs: number, argv: string[], logFile: string): Promise<void> {
  if (jobs === 1) {
    await o.trainInProcess(argv);
    return;
  }
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build with npm run build`);
  installReaper();
  const fd = openSync(logFile, 'a');
  try {
    const code = await new Promise<number>((resolve, reject) => {
      // HETSPLIT_PARENT_PID: the worker exits when this process is gone (even after kill -9).
      const child = spawn(process.execPath, [MAIN, 'train', ...argv, ...(o.workerArgs ?? [])], {
        stdio: ['ignore', fd, fd], env: { ...process.env, HETSPLIT_PARENT_PID: String(process.pid) },
      });
      workers.add(child);
      child.on('error', reject);
      child.on('exit', (c, sig) => { workers.delete(child); resolve(c ?? (sig ? 128 : 1)); });
    });
    if (code !== 0) throw new UserError(`a sweep point failed (exit ${code}): see ${logFile}`);
  } finally {
    closeSync(fd);
  }
}
