/** `hetsplit import MODEL.onnx --out DIR`: a float network from ONNX as a warm-up run directory. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import type { CifarName } from '../data/cifar.js';
import { locateCifar } from '../data/locate.js';
import { describeNorm, normNonNegative, type Normalization } from '../data/pipeline.js';
import { importOnnx } from '../models/onnx_import.js';
import { checkNewRunDir, importedParams, writeImportedWarmup, type ImportedWarmupInfo } from '../train/imported.js';
import { testAccuracies } from '../train/evaluate.js';
import { floatLogits } from '../train/float.js';
import { UserError } from '../util/errors.js';
import { startEngine, type GlobalArgs } from './common.js';
import { dataOptions } from './data.js';

interface ImportArgs extends GlobalArgs {
  model: string; out: string; inputScale: string; mean?: string; std?: string; eval: boolean; name?: string;
  dataset: CifarName; data?: string;
}

function fraction(flag: string, s: string): number {
  const m = /^\s*([0-9.eE+-]+)\s*(?:\/\s*([0-9.eE+-]+)\s*)?$/.exec(s);
  const v = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!Number.isFinite(v) || v <= 0) throw new UserError(`${flag}: expected a positive number or fraction such as 1/255, got '${s}'`);
  return v;
}

function triple(flag: string, s: string, positive: boolean): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x) || (positive && x <= 0))) {
    throw new UserError(`${flag}: expected three comma-separated ${positive ? 'positive ' : ''}numbers (R,G,B), got '${s}'`);
  }
  return v;
}

/** The preprocessing the network expects, from the flags. */
export function importNorm(a: { inputScale: string; mean?: string; std?: string }): Normalization {
  if ((a.mean === undefined) !== (a.std === undefined)) throw new UserError('--mean and --std go together: give both or neither');
  const scale = fraction('--input-scale', a.inputScale);
  const mean = a.mean === undefined ? [0, 0, 0] : triple('--mean', a.mean, false);
  const std = a.std === undefined ? [1, 1, 1] : triple('--std', a.std, true);
  if (Math.abs(scale - 1 / 255) < 1e-12 && mean.every((m) => m === 0) && std.every((s) => s === 1)) return 'unit';
  return { scale, mean, std };
}

export const importCommand: CommandModule<GlobalArgs, ImportArgs> = {
  command: 'import <model>',
  describe: 'import a float network from ONNX as a warm-up run directory (train/sweep --from-warmup DIR)',
  builder: (y) => dataOptions(y)
    .positional('model', { type: 'string', demandOption: true, describe: 'the .onnx file (opset 11-18, NCHW image input)' })
    .option('out', { type: 'string', demandOption: true, describe: 'warm-up directory to create' })
    .option('input-scale', { type: 'string', default: '1/255', describe: 'the network input is pixel x scale (then mean/std)' })
    .option('mean', { type: 'string', describe: 'per-channel mean subtracted after scaling, e.g. 0.4914,0.4822,0.4465' })
    .option('std', { type: 'string', describe: 'per-channel std divided by after the mean' })
    .option('eval', { type: 'boolean', default: true, describe: 'measure test accuracy (--no-eval to skip)' })
    .option('name', { type: 'string', describe: 'model name (default: the file name)' }) as never,
  handler: async (args) => {
    const file = path.resolve(args.model);
    const out = path.resolve(args.out);
    const norm = importNorm(args);
    if (!existsSync(file) || !statSync(file).isFile()) throw new UserError(`${args.model}: no such file`);
    await checkNewRunDir(out);
    const bytes = readFileSync(file);
    const t0 = performance.now();
    const name = args.name ?? path.basename(file).replace(/\.onnx$/i, '');
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new UserError(`--name '${name}': use letters, digits, '.', '_' and '-' only`);
    const im = importOnnx(bytes, args.model, { inputNonNegative: normNonNegative(norm), name });
    const classes = args.dataset === 'cifar100' ? 100 : 10;
    if (im.spec.inputShape.join() !== '32,32,3') {
      throw new UserError(`${args.model}: input is ${im.spec.inputShape[2]}x${im.spec.inputShape[0]}x${im.spec.inputShape[1]}; ${args.dataset} images are 3x32x32`);
    }
    if (im.spec.numClasses !== classes) throw new UserError(`${args.model}: ${im.spec.numClasses} outputs; ${args.dataset} has ${classes} classes (--dataset)`);
    console.log(`${args.model}: opset ${im.opset}, ${im.producer || 'unknown producer'}; ${im.spec.layers.length} layers ` +
      `(${im.spec.layers.map((l) => l.kind).filter((k, i, a) => a.indexOf(k) === i).join(', ')}), ${im.spec.adds.length} residual adds, ` +
      `${im.spec.pools.length} pool(s); read in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    for (const n of im.notes) console.log(`  ${n}`);
    console.log(`input: ${describeNorm(norm)}`);
    await startEngine(args);
    const data = args.eval ? await locateCifar({ dataset: args.dataset, data: args.data }) : null;
    const params = importedParams(im);
    try {
      let metrics: ImportedWarmupInfo['metrics'] = null;
      if (data) {
        const t1 = performance.now();
        const all = Int32Array.from({ length: data.test.n }, (_, i) => i);
        const g = data.genuineTestRecords;
        const { testAccuracy, genuineTestAccuracy } = testAccuracies(floatLogits(im.spec, params), data.test, all, g, norm);
        metrics = { testAccuracy, genuineTestAccuracy, genuineTestRecords: g, seconds: (performance.now() - t1) / 1000 };
        console.log(`float test accuracy ${(100 * testAccuracy).toFixed(2)}% on ${data.test.n} images` +
          (genuineTestAccuracy !== null ? ` (genuine records: ${(100 * genuineTestAccuracy).toFixed(2)}% of ${g})` : '') +
          ` [${metrics.seconds.toFixed(1)} s, ${data.source}]`);
      }
      await writeImportedWarmup(out, im, params, {
        dataset: args.dataset, norm, metrics,
        source: { file, sha256: createHash('sha256').update(bytes).digest('hex'), opset: im.opset, producer: im.producer, notes: im.notes },
      });
    } finally {
      params.dispose();
    }
    console.log(`wrote ${out} (model.json, warmup.bin${args.eval ? ', warmup-metrics.json' : ''})`);
    console.log(`next: hetsplit cost --platform diana --model ${args.out}; hetsplit train --platform diana --from-warmup ${args.out} --epochs-warmup 0 ...`);
  },
};
