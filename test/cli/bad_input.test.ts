/**
 * Bad input, as a hostile user gives it: every case must end with exit code 2, ONE line on
 * stderr ("hetsplit: ...", no stack trace) saying what is wrong, and nothing left behind
 * (an --out that did not exist still does not; a run directory keeps its files as they were).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { tmpDir, writeCifar10Dir } from '../helpers/fake_cifar.js';

let root = '', data = '', otherData = '', run = '', file = '', front = '';
const TINY = ['--model', 'tinycnn', '--batch', '32', '--val-size', '64', '--epochs-warmup', '1', '--epochs-search', '1', '--epochs-finetune', '1'];
const DIANA = JSON.parse(readFileSync(fileURLToPath(new URL('../../platforms/diana.json', import.meta.url)), 'utf8'));

/** A platform file: DIANA with one CU's latency replaced. */
function platformWith(latency: string): string {
  const f = path.join(root, `p-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify({ ...DIANA, cus: DIANA.cus.map((c: object, i: number) => (i === 1 ? { ...c, latency } : c)) }));
  return f;
}

/** A copy of the finished run with one file replaced (for resume/export cases). */
function runWith(name: string, content: string | Buffer | null): string {
  const dir = path.join(root, `run-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  for (const f of readdirSync(run)) if (statSync(path.join(run, f)).isFile()) writeFileSync(path.join(dir, f), readFileSync(path.join(run, f)));
  if (content !== null) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** The fixture run's mapping.json, edited, as a file: a hand-made mapping for --mapping. */
function mappingWith(edit: (layers: { name: string; channels: Record<string, number[]> }[]) => void): string {
  const m = JSON.parse(readFileSync(path.join(run, 'mapping.json'), 'utf8'));
  edit(m.layers);
  const f = path.join(root, `m-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(m));
  return f;
}

const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort().map((f) => `${f}:${statSync(path.join(dir, f)).size}`).join(',') : null);

beforeAll(async () => {
  root = tmpDir();
  data = path.join(root, 'data');
  writeCifar10Dir(data, 64);
  otherData = path.join(root, 'data2');
  writeCifar10Dir(otherData, 72);
  run = path.join(root, 'run');
  const r = await cli('train', '--data', data, ...TINY, '--out', run);
  if (r.code !== 0) throw new Error(`fixture run failed: ${r.stderr}`);
  file = path.join(root, 'a-file');
  writeFileSync(file, 'x');
  front = path.join(root, 'front.json');
  writeFileSync(front, JSON.stringify({ rows: [{ run: 'a', kind: 'searched', dir: '/x', testAccuracy: 0.5, latencyMs: 1 }] }));
}, 120_000);

/** [name, argv (built lazily: fixtures exist by then), expected message, --out that must not appear / dir that must not change]. */
type Case = [string, () => string[], RegExp, (() => string)?];
const fresh = () => path.join(root, `out-${Math.random().toString(36).slice(2)}`);
let out = '';
const o = () => (out = fresh());

const CASES: Case[] = [
  // train: flags and files checked before any training
  ['unknown platform', () => ['train', '--data', data, ...TINY, '--platform', 'nope', '--out', o()], /unknown platform 'nope'/, () => out],
  ['missing platform file', () => ['train', '--data', data, ...TINY, '--platform', path.join(root, 'none.json'), '--out', o()], /platform file .* not found/, () => out],
  ['platform file not JSON', () => { const f = path.join(root, 'bad.json'); writeFileSync(f, '{"name": '); return ['train', '--data', data, ...TINY, '--platform', f, '--out', o()]; }, /not valid JSON/, () => out],
  ['latency divides by zero for some n', () => ['train', '--data', data, ...TINY, '--platform', platformWith('cin / (n - 1)'), '--out', o()], /cus\[1\]\.latency.*(Infinity|NaN)/, () => out],
  ['latency negative on large layers', () => ['train', '--data', data, ...TINY, '--platform', platformWith('100 - cin * h'), '--out', o()], /cus\[1\]\.latency.*evaluates to -/, () => out],
  ['expression too long', () => ['train', '--data', data, ...TINY, '--platform', platformWith('(1+'.repeat(3000) + '1' + ')'.repeat(3000)), '--out', o()], /at most 4000 are accepted/, () => out],
  ['unknown latency variable', () => ['train', '--data', data, ...TINY, '--platform', platformWith('cin * nope'), '--out', o()], /cus\[1\]\.latency/, () => out],
  ['unknown model', () => ['train', '--data', data, ...TINY, '--model', 'nope', '--out', o()], /nope/, () => out],
  ['missing .onnx model', () => ['train', '--data', data, ...TINY, '--model', path.join(root, 'none.onnx'), '--out', o()], /none\.onnx/, () => out],
  ['unknown baseline CU', () => ['train', '--data', data, ...TINY, '--mapping', 'all:nope', '--out', o()], /--mapping all:nope: diana has no compute unit 'nope'/, () => out],
  ['unknown baseline name', () => ['train', '--data', data, ...TINY, '--mapping', 'best', '--out', o()], /unknown baseline mapping 'best'/, () => out],
  ['random baseline of nothing', () => ['train', '--data', data, ...TINY, '--mapping', `random:${path.join(root, 'none')}`, '--out', o()], /has not finished/, () => out],
  ['mapping file missing', () => ['train', '--data', data, ...TINY, '--mapping', path.join(root, 'none.json'), '--out', o()], /none\.json: cannot read the mapping \(--mapping\) \(ENOENT\)/, () => out],
  ['mapping file not JSON', () => { const f = path.join(root, 'm.json'); writeFileSync(f, '{"layers": ['); return ['train', '--data', data, ...TINY, '--mapping', f, '--out', o()]; }, /m\.json: the mapping \(--mapping\) is not valid JSON/, () => out],
  ['mapping of another model', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l[1]!.name = 'convX'; }), '--out', o()], /layer 1 is 'convX', tinycnn's is 'conv2'/, () => out],
  ['mapping with a layer too few', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l.pop(); }), '--out', o()], /5 layers, tinycnn has 6/, () => out],
  ['mapping leaves a channel out', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l[0]!.channels = { digital: [0, 1, 2], analog: [3, 4, 5, 6] }; }), '--out', o()], /layer conv1: channel 7 is not mapped/, () => out],
  ['mapping maps a channel twice', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l[0]!.channels = { digital: [0, 1, 2, 3], analog: [3, 4, 5, 6, 7] }; }), '--out', o()], /layer conv1: channel 3 is mapped twice/, () => out],
  ['mapping names a channel out of range', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l[0]!.channels = { digital: [0, 1, 2, 3, 8], analog: [4, 5, 6, 7] }; }), '--out', o()], /layer conv1: channel 8 is not one of 0\.\.7/, () => out],
  ['mapping names an unknown CU', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l[0]!.channels = { digital: [0, 1, 2, 3], gpu: [4, 5, 6, 7] }; }), '--out', o()], /layer conv1: unknown compute unit 'gpu' \(diana has digital, analog\)/, () => out],
  ['mapping puts a depthwise layer on the analog CU', () => ['train', '--data', data, ...TINY, '--mapping', mappingWith((l) => { l[2]!.channels = { digital: [], analog: [0, 1, 2, 3, 4, 5, 6, 7] }; }), '--out', o()], /layer dw3: analog cannot run it on diana/, () => out],
  ['momentum out of range', () => ['train', '--data', data, ...TINY, '--momentum', '5', '--out', o()], /--momentum: expected a number in \[0, 1\)/, () => out],
  ['negative lr', () => ['train', '--data', data, ...TINY, '--lr-weights', '-1', '--out', o()], /--lr-weights: expected a number > 0/, () => out],
  ['zero batch', () => ['train', '--data', data, ...TINY, '--batch', '0', '--out', o()], /--batch: expected a number > 0/, () => out],
  ['negative epochs', () => ['train', '--data', data, ...TINY, '--epochs-search', '-1', '--out', o()], /--epochs-search: expected a whole number >= 0/, () => out],
  ['fractional test limit', () => ['train', '--data', data, ...TINY, '--test-limit', '2.5', '--out', o()], /--test-limit: expected a whole number >= 0/, () => out],
  ['empty validation set', () => ['train', '--data', data, ...TINY, '--val-size', '0', '--out', o()], /--val-size: expected a whole number >= 1/, () => out],
  ['validation set larger than the data', () => ['train', '--data', data, ...TINY, '--val-size', '100000', '--out', o()], /--val-size 100000/, () => out],
  ['budget below the cheapest mapping', () => ['train', '--data', data, ...TINY, '--budget', '0.01', '--out', o()], /below the cheapest mapping/, () => out],
  ['budget not a number', () => ['train', '--data', data, ...TINY, '--budget', 'abc', '--out', o()], /--budget/, () => out],
  ['budget with a fixed mapping', () => ['train', '--data', data, ...TINY, '--budget', '0.9', '--mapping', 'all:digital', '--out', o()], /a budget does not apply/, () => out],
  ['two budgets', () => ['train', '--data', data, ...TINY, '--budget', '0.9', '--budget-latency-ms', '1', '--out', o()], /give one/, () => out],
  ['--out is a file', () => ['train', '--data', data, ...TINY, '--out', file], /a file is in the way/],
  ['--out under a file', () => ['train', '--data', data, ...TINY, '--out', path.join(file, 'run')], /a file is in the way/],
  ['--out cannot be created', () => ['train', '--data', data, ...TINY, '--out', '/proc/hetsplit-cannot-be-here'], /cannot create it|no such file|not permitted|a file is in the way/],
  ['missing data', () => ['train', '--data', path.join(root, 'none'), ...TINY, '--out', o()], /none/, () => out],
  ['unknown engine', () => ['train', '--data', data, ...TINY, '--engine', 'gpu', '--out', o()], /engine/, () => out],
  ['unknown target', () => ['train', '--data', data, ...TINY, '--target', 'power', '--out', o()], /target/, () => out],
  ['zero threads', () => ['train', '--data', data, ...TINY, '--threads', '0', '--out', o()], /--threads 0: expected a whole number/, () => out],
  ['unknown flag', () => ['train', '--data', data, ...TINY, '--nope', '1', '--out', o()], /nope/, () => out],
  ['resume nothing', () => { const d = fresh(); mkdirSync(d); return ['train', '--data', data, ...TINY, '--out', d, '--resume']; }, /nothing to resume/],
  // resume: everything that changes results must match
  ['resume with another lambda', () => { out = runWith('x', null); return ['train', '--data', data, ...TINY, '--out', out, '--resume', '--lambda', '3']; }, /started with lambda = 0\.5, not 3/, () => out],
  ['resume with other data', () => { out = runWith('x', null); return ['train', '--data', otherData, ...TINY, '--out', out, '--resume']; }, /started on the data in/, () => out],
  ['resume with a truncated state.json', () => { out = runWith('state.json', '{"phase": "fine'); return ['train', '--data', data, ...TINY, '--out', out, '--resume']; }, /state\.json: the run state file is not valid JSON/, () => out],
  ['resume with a truncated config.json', () => { out = runWith('config.json', '{"platform": '); return ['train', '--data', data, ...TINY, '--out', out, '--resume']; }, /config\.json: the run settings file is not valid JSON/, () => out],
  // sweep: validated before any point runs
  ['sweep: unknown baseline', () => ['sweep', '--data', data, ...TINY, '--lambdas', '0', '--baselines', 'all:nope', '--out', o()], /--baselines all:nope/, () => out],
  ['sweep: a budget heuristic with no budgets', () => ['sweep', '--data', data, ...TINY, '--lambdas', '0', '--baselines', 'max-precise', '--out', o()], /--baselines max-precise: runs at each budget of a budget sweep; give --budgets/, () => out],
  ['sweep: the feasible forward with λ points', () => ['sweep', '--data', data, ...TINY, '--lambdas', '0,1', '--search-forward', 'feasible', '--out', o()], /--search-forward feasible: it needs a budget, and the λ points \(--lambdas 0,1\) have none/, () => out],
  ['sweep: the exact cost gradient on conv-vs-depthwise splits', () => ['sweep', '--data', data, ...TINY, '--platform', 'darkside', '--model', 'mobilenetv1', '--budgets', '0.5', '--cost-grad', 'exact', '--out', o()], /--cost-grad exact: .*conv-vs-depthwise split/, () => out],
  ['sweep: lambdas not numbers', () => ['sweep', '--data', data, ...TINY, '--lambdas', 'a,b', '--out', o()], /--lambdas: expected comma-separated numbers/, () => out],
  ['sweep: seeds not numbers', () => ['sweep', '--data', data, ...TINY, '--seeds', 'x', '--out', o()], /--seeds/, () => out],
  ['sweep: shard out of range', () => ['sweep', '--data', data, ...TINY, '--shard', '3/2', '--out', o()], /--shard: expected i\/n/, () => out],
  ['sweep: budget too small', () => ['sweep', '--data', data, ...TINY, '--budgets', '0.001', '--out', o()], /below the cheapest mapping/, () => out],
  ['sweep: random twin of no lambda', () => ['sweep', '--data', data, ...TINY, '--lambdas', '0,1', '--random-of', '7', '--out', o()], /--random-of: 7 is not one of/, () => out],
  ['sweep: emit with no shards', () => ['sweep', '--data', data, ...TINY, '--emit', 'k8s', '--shards', '0', '--out', o()], /--shards: expected a whole number >= 1/, () => out],
  ['sweep: a per-run flag', () => ['sweep', '--data', data, ...TINY, '--seed', '3', '--out', o()], /seed/, () => out],
  ['sweep: a train setting out of range, caught before the warm-up', () => ['sweep', '--data', data, ...TINY, '--lambdas', '0', '--lr-weights', '-1', '--out', o()], /--lr-weights: expected a number > 0, got -1/, () => out],
  ['sweep: more validation images than the data has', () => ['sweep', '--data', data, ...TINY, '--val-size', '100000', '--lambdas', '0', '--out', o()], /--val-size 100000: the training set has only 320 images/, () => out],
  ['sweep: a seed that is not whole', () => ['sweep', '--data', data, ...TINY, '--seeds', '1.5', '--out', o()], /--seeds: expected whole numbers >= 0, got '1\.5'/, () => out],
  ['sweep: one bad budget in the list', () => ['sweep', '--data', data, ...TINY, '--budgets', 'min-latency,abc', '--out', o()], /--budgets abc: expected a fraction > 0/, () => out],
  ['demo: batch 0', () => ['demo', '--batch', '0', '--out', o()], /--batch: expected a whole number >= 1, got 0/, () => out],
  ['demo: seed not a number', () => ['demo', '--seed', 'abc', '--out', o()], /--seed: expected a whole number >= 0/, () => out],
  ['demo: one bad budget in the list', () => ['demo', '--budgets', '0.4,abc', '--out', o()], /--budgets abc: expected a fraction > 0/, () => out],
  // export / schedule / select / pareto / import / cost
  ['export --out is a file', () => ['export', run, '--format', 'json', '--out', file], /a file of that name exists/],
  ['export of a damaged checkpoint', () => {
    const buf = readFileSync(path.join(run, 'final.bin'));
    buf[buf.length - 2]! ^= 0x01;
    out = runWith('final.bin', buf);
    return ['export', out, '--format', 'onnx', '--out', path.join(out, 'exp')];
  }, /final\.bin: checksum mismatch/, () => path.join(out, 'exp')],
  ['export of a NaN weight', () => {
    // a checkpoint with a valid checksum over a NaN: refused by name
    const buf = readFileSync(path.join(run, 'final.bin'));
    const hlen = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + hlen).toString());
    const base = 4 + hlen;
    buf.writeFloatLE(NaN, base + header.tensors[0].offset);
    header.sha256 = createHash('sha256').update(buf.subarray(base)).digest('hex');
    const h2 = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h2.length, 0);
    out = runWith('final.bin', Buffer.concat([len, h2, buf.subarray(base)]));
    return ['export', out, '--format', 'json', '--out', path.join(out, 'exp')];
  }, /final\.bin: tensor .* holds a non-finite value \(NaN/, () => path.join(out, 'exp')],
  ['export of no run', () => ['export', path.join(root, 'none'), '--format', 'json', '--out', o()], /none/, () => out],
  ['export in an unknown format', () => ['export', run, '--format', 'pt', '--out', o()], /format/, () => out],
  ['schedule of a non-run', () => ['schedule', data], /config\.json|metrics\.json/],
  ['select: front not JSON', () => { const f = path.join(root, 'f1.json'); writeFileSync(f, '[1,'); return ['select', f, '--max-latency-ms', '1']; }, /not valid JSON/],
  ['select: rows missing fields', () => ['select', front, '--max-latency-ms', '1'], /rows\[0\]\.energyMJ: expected a number/],
  ['select: missing front', () => ['select', path.join(root, 'none.json'), '--max-latency-ms', '1'], /no such file/],
  ['select: no budget', () => ['select', front], /give --max-latency-ms/],
  ['pareto: malformed metrics', () => {
    const d = path.join(root, `sw-${Math.random().toString(36).slice(2)}`);
    mkdirSync(path.join(d, 'points', 'p'), { recursive: true });
    writeFileSync(path.join(d, 'sweep.json'), '{}');
    writeFileSync(path.join(d, 'points', 'p', 'metrics.json'), '{"testAcc');
    writeFileSync(path.join(d, 'points', 'p', 'config.json'), '{}');
    out = path.join(d, 'front.csv');
    return ['pareto', d];
  }, /unreadable metrics\.json/, () => out],
  ['pareto: no such directory', () => ['pareto', path.join(root, 'none')], /no such directory/],
  ['import: no such file', () => ['import', path.join(root, 'none.onnx'), '--out', o()], /none\.onnx/, () => out],
  ['import: --out not empty', () => ['import', fileURLToPath(new URL('../../assets/models/resnet20-odimo-fp.onnx', import.meta.url)), '--out', run, '--no-eval'], /not empty/],
  ['demo: lr not positive', () => ['demo', '--lr', '0', '--out', o()], /--lr: expected a positive number, got 0/, () => out],
  ['exact cost gradient with the soft relaxation', () => ['train', '--data', data, ...TINY, '--platform', 'diana', '--relaxation', 'soft', '--cost-grad', 'exact', '--out', o()], /--cost-grad exact: .*hard relaxation/, () => out],
  ['feasible forward without a budget', () => ['train', '--data', data, ...TINY, '--platform', 'diana', '--search-forward', 'feasible', '--out', o()], /--search-forward feasible: .*needs a budget/, () => out],
  ['demo: unknown sensitivity score', () => ['demo', '--sensitivity', 'hessian', '--out', o()], /sensitivity.*hessian|hessian.*sensitivity/, () => out],
  ['cost: unknown platform', () => ['cost', '--platform', 'nope', '--model', 'resnet8'], /unknown platform/],
  ['cost: a platform name that escapes runs/', () => { const f = path.join(root, 'evil.json'); writeFileSync(f, JSON.stringify({ ...DIANA, name: '/../../../x', cus: [] })); return ['cost', '--platform', f, '--model', 'resnet8']; }, /cus|compute unit|name/],
];

describe('bad input: one line, exit 2, nothing left behind', () => {
  it('covers at least 40 cases', () => { expect(CASES.length).toBeGreaterThanOrEqual(40); });
  it.each(CASES.map((c) => [c[0], c] as const))('%s', async (_name, [, argv, msg, keep]) => {
    const args = argv();
    const guard = keep?.();
    const before = guard ? listing(guard) : null;
    const r = await cli(...args);
    expect(r.code, r.stderr + r.stdout.slice(-300)).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^hetsplit: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(msg);
    if (guard) expect(listing(guard)).toBe(before); // nothing created, or the run's files as they were
    // BAD_INPUT_TABLE=file: the case table with what each prints (for the closing note)
    if (process.env.BAD_INPUT_TABLE) {
      const shown = lines[0]!.split(root).join('…').replace(/\|/g, '\\|');
      appendFileSync(process.env.BAD_INPUT_TABLE, `| ${_name} | \`hetsplit ${args[0]} …\` | ${shown} |\n`);
    }
  });
});

describe('platform names', () => {
  it('a platform named like a path puts its default run directory under runs/, sanitised', async () => {
    const f = path.join(root, 'evil-name.json');
    writeFileSync(f, JSON.stringify({ ...DIANA, name: '/../../../evil' }));
    const cwd = process.cwd();
    const work = tmpDir();
    process.chdir(work);
    try {
      const r = await cli('train', '--data', data, ...TINY, '--epochs-search', '0', '--epochs-finetune', '0', '--platform', f);
      expect(r.code, r.stderr).toBe(0);
      expect(readdirSync(path.join(work, 'runs'))).toEqual(['tinycnn-evil-latency-l0.5']);
      expect(existsSync(path.join(work, '..', 'evil'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  }, 60_000);
});
