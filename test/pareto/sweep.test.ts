import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { Job } from 'kubernetes-models/batch/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildFront, hypervolume, paretoFront, type FrontRow } from '../../src/pareto/front.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let dataRoot = '';
beforeAll(() => {
  dataRoot = tmpDir();
  writeCifar10Dir(dataRoot, 64);
});

const FLAGS = ['--platform', 'diana', '--model', 'tinycnn', '--target', 'energy', '--lambdas', '0,4', '--batch', '32',
  '--val-size', '64', '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '1', '--lr-alpha', '0.05'];

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe('front arithmetic', () => {
  it('marks the non-dominated points and integrates the hypervolume by hand', () => {
    const pts = [{ c: 1, a: 0.5 }, { c: 2, a: 0.7 }, { c: 3, a: 0.6 }, { c: 4, a: 0.9 }];
    expect([...paretoFront(pts, (p) => p.a, (p) => p.c)].sort()).toEqual([0, 1, 3]);
    // ref cost 4: (2-1)/4*0.5 + (4-2)/4*0.7 + (4-4)/4*0.9 = 0.125 + 0.35 = 0.475
    expect(hypervolume(pts.map((p) => ({ cost: p.c, accuracy: p.a })), 4)).toBeCloseTo(0.475, 12);
    const row = (run: string, kind: 'searched' | 'baseline', e: number, a: number): FrontRow => ({
      run, kind, lambda: kind === 'searched' ? 1 : null, budget: null, budgetSpec: null, seed: 1, testAccuracy: a, latencyCycles: e, latencyMs: e, energyMJ: e,
      onFront: false, mapping: null, valAccuracy: a, genuineTestAccuracy: null, platform: 'p', model: 'm', dir: '/x',
    });
    const f = buildFront([row('a', 'searched', 1, 0.5), row('b', 'searched', 2, 0.4), row('c', 'baseline', 0.5, 0.9)], 'energy');
    expect(f.rows.map((r) => r.onFront)).toEqual([true, false, false]); // baselines are not on the searched front
    expect(f.hypervolume.randomTwins).toBeUndefined();
    // random twins are reported apart from the heuristic baselines: ref cost 4
    const twin = { ...row('r', 'baseline', 2, 0.8), mapping: 'random(a)' };
    const g = buildFront([row('a', 'searched', 1, 0.5), { ...row('h', 'baseline', 3, 0.6), mapping: 'min-latency' }, twin, row('z', 'searched', 4, 0.9)], 'energy');
    expect(g.hypervolume.searched).toBeCloseTo((3 / 4) * 0.5, 12);
    expect(g.hypervolume.baselines).toBeCloseTo((1 / 4) * 0.6, 12);
    expect(g.hypervolume.randomTwins).toBeCloseTo((2 / 4) * 0.8, 12);
  });
});

describe('budget sweeps', () => {
  it('plan one searched point per budget and seed, baselines, and a random twin of each budget point', async () => {
    const { planPoints } = await import('../../src/pareto/sweep.js');
    const pts = planPoints({
      platform: 'diana', model: 'resnet20', target: 'latency', lambdas: [], seeds: [1, 2], baselines: ['min-latency'], randomOf: [],
      train: {}, budgets: ['min-latency', '0.6'], randomOfBudgets: ['min-latency', '0.6'],
    }, '/s');
    expect(pts.map((p) => p.id)).toEqual([
      'bmin-latency-s1', 'b0.6-s1', 'min-latency-s1', 'random-bmin-latency-s1', 'random-b0.6-s1',
      'bmin-latency-s2', 'b0.6-s2', 'min-latency-s2', 'random-bmin-latency-s2', 'random-b0.6-s2',
    ]);
    expect(pts[4]).toMatchObject({ mapping: 'random:/s/points/b0.6-s1', dependsOn: 'b0.6-s1' });
  });

  it('runs a budget heuristic (max-precise) at every budget, fine-tuning at that budget; auto adds it to budget sweeps only', async () => {
    const { defaultBaselines, planPoints, pointArgv } = await import('../../src/pareto/sweep.js');
    const spec = {
      platform: 'diana', model: 'resnet20', target: 'latency' as const, lambdas: [], seeds: [1], baselines: ['all:digital', 'max-precise'], randomOf: [],
      train: { epochsSearch: 2, epochsFinetune: 3 }, budgets: ['min-latency', '0.6'], randomOfBudgets: [],
    };
    const pts = planPoints(spec, '/s');
    expect(pts.map((p) => p.id)).toEqual(['bmin-latency-s1', 'b0.6-s1', 'all-digital-s1', 'max-precise-bmin-latency-s1', 'max-precise-b0.6-s1']);
    const flags = (argv: string[]) => Object.fromEntries(argv.flatMap((a, i) => (a.startsWith('--') ? [[a, argv[i + 1] === undefined || argv[i + 1]!.startsWith('--') ? true : argv[i + 1]]] : [])));
    // The heuristic fine-tunes search + fine-tune epochs at its own budget; all:digital has no budget.
    expect(flags(pointArgv(spec, pts[4]!, '/s/points/x', '/w', false))).toMatchObject({
      '--mapping': 'max-precise', '--budget': '0.6', '--epochs-search': '0', '--epochs-finetune': '5', '--lambda': '0', '--from-warmup': '/w', '--seed': '1',
    });
    expect(flags(pointArgv(spec, pts[2]!, '/s/points/y', '/w', true))).toMatchObject({ '--mapping': 'all:digital', '--resume': true });
    expect(pointArgv(spec, pts[2]!, '/s/points/y', '/w', false)).not.toContain('--budget');
    // A searched point searches at its budget.
    expect(flags(pointArgv(spec, pts[1]!, '/s/points/z', '/w', false))).toMatchObject({ '--budget': '0.6', '--epochs-search': '2', '--epochs-finetune': '3' });
    expect(pointArgv(spec, pts[1]!, '/s/points/z', '/w', false)).not.toContain('--mapping');
    const { loadPlatform } = await import('../../src/hw/platform.js');
    const { resolveModel } = await import('../../src/models/resolve.js');
    const resnet = resolveModel('resnet20', 10);
    expect(defaultBaselines(loadPlatform('diana'), resnet, 'latency', true)).toEqual(['all:digital', 'all:analog', 'min-latency', 'max-precise']);
    expect(defaultBaselines(loadPlatform('diana'), resnet, 'latency')).toEqual(['all:digital', 'all:analog', 'min-latency']);
  });

  it('rejects an unreachable budget before any work, in one line', async () => {
    const out = path.join(tmpDir(), 's');
    const r = await cli('sweep', '--platform', 'diana', '--model', 'tinycnn', '--budgets', '0.9,0.01', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/budget 0\.01 x all:analog = .* is below the cheapest mapping/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('sweep, shards, pareto, select (tiny model, generated data)', () => {
  it('two shards as separate processes fill one sweep; pareto merges; select picks within a budget', async () => {
    const dir = path.join(tmpDir(), 'sweep');
    const args = ['sweep', ...FLAGS, '--data', dataRoot, '--out', dir, '--baselines', 'all:digital,all:analog', '--random-of', 'none'];
    const [a, b] = await Promise.all([run([...args, '--shard', '0/2']), run([...args, '--shard', '1/2'])]);
    expect(a.code, a.out).toBe(0);
    expect(b.code, b.out).toBe(0);
    expect(b.out).toMatch(/waiting for the warm-up|already|point/);
    const points = readdirSync(path.join(dir, 'points'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(points).toEqual(['all-analog-s42', 'all-digital-s42', 'l0-s42', 'l4-s42']);
    // engine flags are not train settings (a sweep resumes on any engine / kernel set)
    const saved = JSON.parse(readFileSync(path.join(dir, 'sweep.json'), 'utf8'));
    for (const k of ['engine', 'threads', 'kernels']) expect(saved.train).not.toHaveProperty(k);
    // every point reused the one warm-up
    for (const p of points) expect(readFileSync(path.join(dir, 'points', `${p}`, 'config.json'), 'utf8')).toContain(path.join(dir, 'warmup'));

    // a rerun finds everything done
    const again = await cli('sweep', ...FLAGS, '--data', dataRoot, '--out', dir, '--baselines', 'all:digital,all:analog', '--random-of', 'none');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/4 point\(s\), 4 already done/);

    const p = await cli('pareto', dir, '--objective', 'energy');
    expect(p.code, p.stderr).toBe(0);
    const rows = parse(readFileSync(path.join(dir, 'front.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['run', 'kind', 'lambda', 'budget', 'seed', 'testAccuracy', 'latencyCycles', 'latencyMs', 'energyMJ', 'onFront']);
    expect(rows.filter((r) => r.kind === 'baseline').map((r) => r.run).sort()).toEqual(['all-analog-s42', 'all-digital-s42']);
    expect(rows.some((r) => r.onFront === 'true')).toBe(true);
    const front = JSON.parse(readFileSync(path.join(dir, 'front.json'), 'utf8'));
    expect(front.hypervolume.searched).toBeGreaterThanOrEqual(0);
    expect(front.hypervolume.searched).toBeLessThanOrEqual(1);
    for (const f of ['accuracy-energy.png', 'accuracy-latency.png', 'accuracy-energy.svg', 'mappings/l4-s42.png']) {
      const buf = readFileSync(path.join(dir, f));
      if (f.endsWith('.png')) expect(buf.subarray(1, 4).toString()).toBe('PNG');
      else expect(buf.toString()).toMatch(/^<svg/);
    }

    const cheapest = Math.min(...rows.map((r) => Number(r.energyMJ)));
    const ok = await cli('select', path.join(dir, 'front.json'), '--max-energy-mj', String(cheapest * 1.0001), '--json');
    expect(ok.code).toBe(0);
    const sel = JSON.parse(ok.stdout);
    expect(sel.chosen.energyMJ).toBeLessThanOrEqual(cheapest * 1.0001);
    expect(existsSync(sel.chosen.artifacts.mapping)).toBe(true);
    const none = await cli('select', path.join(dir, 'front.json'), '--max-energy-mj', String(cheapest / 2));
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/no network fits the budget; the cheapest is/);
    const bad = await cli('select', path.join(dir, 'front.json'));
    expect(bad.code).toBe(2);
  }, 300_000);

  it('emits a Kubernetes Indexed Job that passes the schema, with a valid name and every path on its volumes', async () => {
    // A long, relative --out: the Job's name must still be a DNS-1123 label.
    const dir = path.join(tmpDir(), 'a-sweep-directory-whose-name-is-far-longer-than-any-kubernetes-label-allows-here');
    const rel = path.relative(process.cwd(), dir);
    const k = await cli('sweep', ...FLAGS, '--data', path.relative(process.cwd(), dataRoot), '--out', rel, '--emit', 'k8s', '--shards', '3', '--cpus', '4');
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    const doc = parseYaml(readFileSync(path.join(dir, 'sweep-k8s.yaml'), 'utf8'));
    expect(() => new Job(doc).validate()).not.toThrow();
    expect(doc.metadata.name.length).toBeLessThanOrEqual(63);
    expect(doc.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(doc.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3 });
    const c = doc.spec.template.spec.containers[0];
    expect(c.image).toBe('hetsplit:latest');
    expect(c.args[0]).toMatch(/--threads 4 --shard "\$JOB_COMPLETION_INDEX\/3"/);
    const argv: string[] = c.args.slice(2);
    expect(argv[argv.indexOf('--out') + 1]).toBe(`/sweeps/${path.basename(dir)}`);
    expect(argv[argv.indexOf('--data') + 1]).toBe('/data');
    expect(argv).not.toContain('--emit');
    expect(c.resources.requests.cpu).toBe('4');
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath).sort()).toEqual(['/data', '/sweeps']);
    // the image the Job names is the one the repository's Dockerfile builds
    const docker = readFileSync(fileURLToPath(new URL('../../Dockerfile', import.meta.url)), 'utf8');
    expect(docker).toMatch(/^FROM node:20-slim/m);
    expect(docker).toMatch(/ENTRYPOINT \["hetsplit"\]/);
  });

  it('emits a Slurm array whose tasks, run one after the other from another directory, complete the sweep', async () => {
    const dir = path.join(tmpDir(), 'slurm');
    const rel = path.relative(process.cwd(), dir);
    // Points in plan order: l0, l4, min-latency, all:digital, random-l4 (depends on l4). Dealt
    // one by one, random-l4 would land in shard 0 and wait forever for shard 1's l4.
    const flags = [...FLAGS, '--random-of', '4', '--baselines', 'min-latency,all:digital'];
    const s = await cli('sweep', ...flags, '--data', path.relative(process.cwd(), dataRoot), '--out', rel, '--emit', 'slurm', '--shards', '2', '--cpus', '1');
    expect(s.code).toBe(0);
    const script = path.join(dir, 'sweep-slurm.sh');
    const sh = readFileSync(script, 'utf8');
    expect(sh).toMatch(/#SBATCH --array=0-1/);
    expect(sh).toMatch(/#SBATCH --cpus-per-task=1/);
    const elsewhere = tmpDir();
    for (const task of ['0', '1']) {
      const r = await new Promise<{ code: number; out: string }>((resolve, reject) => {
        const child = spawn('bash', [script], { cwd: elsewhere, env: { ...process.env, SLURM_ARRAY_TASK_ID: task, SLURM_CPUS_PER_TASK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => { out += d; });
        child.stderr.on('data', (d) => { out += d; });
        child.on('error', reject);
        child.on('exit', (code) => resolve({ code: code ?? 1, out }));
      });
      expect(r.out).not.toMatch(/waiting for/);
      expect(r.code, r.out).toBe(0);
    }
    const p = await run(['pareto', dir, '--objective', 'energy', '--no-plots']);
    expect(p.code, p.out).toBe(0);
    const rows = parse(readFileSync(path.join(dir, 'front.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.run).sort()).toEqual(['all-digital-s42', 'l0-s42', 'l4-s42', 'min-latency-s42', 'random-l4-s42']);
  }, 300_000);
});
