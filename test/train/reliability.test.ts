/**
 * Faults that used to damage runs, with real processes: two processes in one run
 * directory, a sweep killed with -9 leaving workers behind, a run killed before its first
 * checkpoint, a run diverged and resumed with a lower learning rate.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../../src/util/lock.js';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let data = '';
beforeAll(() => {
  data = tmpDir();
  writeCifar10Dir(data, 80);
});
const TINY = ['--platform', 'diana', '--model', 'tinycnn', '--batch', '32', '--val-size', '80'];

const waitFor = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const t = Date.now();
  while (Date.now() - t < ms) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
};
const alive = processAlive;
/** Live `train` processes whose command line names `dir`. */
const trainersOf = (dir: string): number[] => execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')
  .filter((l) => l.includes(MAIN) && l.includes(' train ') && l.includes(dir)).map((l) => Number(l.trim().split(/\s+/)[0]));

describe('one process per run directory', () => {
  it('a second train into a busy --out is refused in one line; after kill -9 of the first, --resume takes the stale lock over', async () => {
    const dir = path.join(tmpDir(), 'busy');
    const flags = ['train', ...TINY, '--data', data, '--epochs-warmup', '30', '--epochs-search', '1', '--epochs-finetune', '0', '--out', dir];
    const a: ChildProcess = spawn(process.execPath, [MAIN, ...flags], { stdio: 'ignore' });
    try {
      expect(await waitFor(() => existsSync(path.join(dir, 'state.json')), 30_000)).toBe(true);
      const b = await cli(...flags, '--resume', '--lambda', '0.5');
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(new RegExp(`in use by process ${a.pid} on `));
      a.kill('SIGKILL');
      await waitFor(() => !alive(a.pid!), 5_000);
      expect(existsSync(path.join(dir, '.lock'))).toBe(true); // left behind by the kill
      const c = await cli(...flags.map((f) => (f === '30' ? '2' : f)), '--resume');
      // (the resumed run keeps the settings it started with: 30 warm-up epochs)
      expect(c.stderr).toMatch(/epochsWarmup = 30, not 2/);
      const d = await cli(...flags, '--resume');
      expect(d.code, d.stderr).toBe(0);
      expect(existsSync(path.join(dir, 'metrics.json'))).toBe(true);
      expect(existsSync(path.join(dir, '.lock'))).toBe(false);
    } finally {
      a.kill('SIGKILL');
    }
  }, 240_000);
});

describe('sweep workers', () => {
  it('stop when the sweep that started them is killed with -9', async () => {
    const dir = path.join(tmpDir(), 'sweep');
    const s = spawn(process.execPath, [MAIN, 'sweep', ...TINY, '--data', data, '--lambdas', '0,1,2,3', '--baselines', 'none', '--random-of', 'none',
      '--epochs-warmup', '1', '--epochs-search', '40', '--epochs-finetune', '0', '--jobs', '2', '--out', dir], { stdio: 'ignore' });
    try {
      expect(await waitFor(() => trainersOf(dir).length >= 2, 60_000)).toBe(true);
      const workers = trainersOf(dir);
      s.kill('SIGKILL');
      // each worker notices within its 2 s poll (generous: a loaded CI machine)
      expect(await waitFor(() => workers.every((p) => !alive(p)), 30_000)).toBe(true);
    } finally {
      s.kill('SIGKILL');
      for (const p of trainersOf(dir)) process.kill(p, 'SIGKILL');
    }
  }, 120_000);
});

describe('resume from any moment', () => {
  it('a run killed before its first checkpoint (config.json, no state.json) starts over on --resume', async () => {
    const dir = path.join(tmpDir(), 'early');
    const flags = ['train', ...TINY, '--data', data, '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '0', '--out', dir];
    expect((await cli(...flags)).code).toBe(0);
    const metrics = readFileSync(path.join(dir, 'metrics.json'), 'utf8');
    // what a kill right after config.json leaves (and a temp file of an interrupted write)
    for (const f of ['state.json', 'log.jsonl', 'metrics.json', 'mapping.json', 'final.bin', 'warmup.bin']) rmSync(path.join(dir, f), { force: true });
    writeFileSync(path.join(dir, '.state.json.123.456.tmp'), '{"pha');
    const r = await cli(...flags, '--resume');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/killed before its first checkpoint; starting it over/);
    expect(readFileSync(path.join(dir, 'metrics.json'), 'utf8')).toBe(metrics);
    expect(existsSync(path.join(dir, '.state.json.123.456.tmp'))).toBe(false);
    // without --resume the same directory is refused, in one line
    rmSync(path.join(dir, 'state.json'));
    const again = await cli(...flags);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/pass --resume to start it over/);
  }, 120_000);

  it('a diverged run says the exact flags to resume with, and resumes with a lower rate recorded in config.json', async () => {
    const dir = path.join(tmpDir(), 'nan');
    const flags = ['train', ...TINY, '--data', data, '--epochs-warmup', '2', '--epochs-search', '0', '--epochs-finetune', '0', '--out', dir];
    const r = await cli(...flags, '--lr-warmup', '1e30');
    expect(r.code).toBe(2);
    const m = /rerun the same command with --resume (--lr-warmup) (\S+)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const ok = await cli(...flags, '--resume', m![1]!, '0.05');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/resuming with changed learning rates \(warmup\)/);
    const cfg = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg.warmup.lr).toBe(0.05);
    expect(cfg.lrChanges[0].from.warmup.lr).toBe(1e30);
    // anything else still has to match
    const other = await cli(...flags, '--resume', '--lr-warmup', '0.05', '--momentum', '0.5');
    expect(other.code).toBe(2);
  }, 120_000);

  it('a run that predates a setting resumes at the value it ran with, and refuses another naming that value', async () => {
    const dir = path.join(tmpDir(), 'older');
    const flags = ['train', ...TINY, '--data', data, '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '1', '--out', dir];
    expect((await cli(...flags, '--lr-schedule', 'phase')).code).toBe(0);
    // what an older hetsplit wrote: no lrSchedule, no sensitivity (the settings check runs before resume looks at the state)
    const file = path.join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    delete cfg.lrSchedule;
    delete cfg.sensitivity;
    writeFileSync(file, JSON.stringify(cfg));
    const refused = await cli(...flags, '--resume', '--lr-schedule', 'run');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/started with lrSchedule = "phase" \(before the setting existed\), not "run"/);
    const ok = await cli(...flags, '--resume', '--lr-schedule', 'phase', '--sensitivity', 'taylor');
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);
});
