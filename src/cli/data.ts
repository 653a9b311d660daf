/** `hetsplit data preview`: a PNG grid of images per class, to check the data decodes. */
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import type { CifarName } from '../data/cifar.js';
import { locateCifar } from '../data/locate.js';
import { previewPng } from '../data/preview.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { GlobalArgs } from './common.js';

interface PreviewArgs extends GlobalArgs {
  dataset: CifarName; data?: string; split: 'train' | 'test'; perClass: number; scale: number; out: string;
}

export function dataOptions<T>(y: Argv<T>) {
  return y
    .option('dataset', { choices: ['cifar10', 'cifar100'] as const, default: 'cifar10' as const, describe: 'CIFAR-10 or CIFAR-100 (binary layout)' })
    .option('data', { type: 'string', describe: 'directory or .tar.gz holding the dataset' });
}

export const dataCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'data <action>',
  describe: 'dataset utilities',
  builder: (y) => y.command({
    command: 'preview',
    describe: 'write a PNG grid of images, one row per class',
    builder: (yy) => dataOptions(yy)
      .option('split', { choices: ['train', 'test'] as const, default: 'test' as const })
      .option('per-class', { type: 'number', default: 12 })
      .option('scale', { type: 'number', default: 3 })
      .option('out', { type: 'string', default: 'preview.png' }),
    handler: async (a) => {
      const args = a as unknown as PreviewArgs;
      const data = await locateCifar({ dataset: args.dataset, data: args.data });
      await writeFileAtomic(args.out, previewPng(data, args.split, args.perClass, args.scale));
      console.log(`data: ${data.source} (${data.train.n} train, ${data.test.n} test)`);
      console.log(`rows: ${data.classNames.slice(0, 10).join(', ')}`);
      console.log(`wrote ${path.resolve(args.out)}`);
    },
  }).demandCommand(1),
  handler: () => undefined,
};
