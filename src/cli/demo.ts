/**
 * `hetsplit demo`: the newcomer's first run. Engine self-check, then a short float
 * training of a small CIFAR model with validation and test accuracy.
 * (Until the mapping search lands, this is the main job.)
 */
import type { CommandModule } from 'yargs';
import type { CifarName } from '../data/cifar.js';
import { locateCifar } from '../data/locate.js';
import { buildModel } from '../models/zoo.js';
import { trainFloat } from '../train/float.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import { showProgress, type GlobalArgs } from './common.js';
import { dataOptions } from './data.js';
import { runEngineCheck } from './engine.js';

interface DemoArgs extends GlobalArgs {
  dataset: CifarName; data?: string; model: string; epochs: number; batch: number; lr: number;
  trainLimit: number; seed: number; out: string;
}

export const demoCommand: CommandModule<GlobalArgs, DemoArgs> = {
  command: 'demo',
  describe: 'engine self-check + a short float training of a small CIFAR model',
  builder: (y) => dataOptions(y)
    .option('model', { choices: ['resnet8', 'resnet20', 'mobilenetv1', 'tinycnn'], default: 'resnet8' })
    .option('epochs', { type: 'number', default: 3 })
    .option('batch', { type: 'number', default: 64 })
    .option('lr', { type: 'number', default: 0.05 })
    .option('train-limit', { type: 'number', default: 4000, describe: 'training images used per epoch (0 = all)' })
    .option('seed', { type: 'number', default: 42 })
    .option('out', { type: 'string', default: 'runs/demo/metrics.json' }) as never,
  handler: async (args) => {
    if (!(await runEngineCheck(args))) throw new Error('engine self-check failed');
    for (const k of ['epochs', 'batch', 'lr'] as const) {
      if (!(args[k] > 0)) throw new UserError(`--${k} must be > 0, got ${args[k]}`);
    }
    const data = await locateCifar({ dataset: args.dataset, data: args.data });
    console.log(`data: ${data.source} (${data.train.n} train, ${data.test.n} test)`);
    const spec = buildModel(args.model, data.format.numClasses);
    const r = trainFloat(spec, data, {
      epochs: args.epochs, batchSize: args.batch, lr: args.lr, momentum: 0.9, weightDecay: 5e-4,
      seed: args.seed, valSize: 5000, trainLimit: args.trainLimit || undefined, norm: 'unit',
      progress: showProgress(),
    }, (line) => console.log(line));
    const genuine = r.genuineTestAccuracy == null ? '' :
      `, genuine-pixel test records (first ${r.genuineTestRecords}): ${(100 * r.genuineTestAccuracy).toFixed(2)}%`;
    console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% on ${data.test.n} images${genuine}`);
    await writeJsonAtomic(args.out, {
      model: args.model, dataset: args.dataset, data: data.source, testAccuracy: r.testAccuracy,
      genuineTestAccuracy: r.genuineTestAccuracy, genuineTestRecords: r.genuineTestRecords, epochs: r.epochs,
    });
    r.params.dispose();
    console.log(`wrote ${args.out}`);
  },
};
