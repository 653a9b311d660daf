/**
 * `hetsplit demo`: the newcomer's first run. Engine self-check, then a short search of
 * ResNet8 on DIANA (few epochs on a slice of CIFAR-10) that ends by printing where the
 * mapping and metrics are. Every `train` flag works here too; only the defaults differ.
 */
import type { CommandModule } from 'yargs';
import { startEngine, type GlobalArgs } from './common.js';
import { checkKernels } from './engine.js';
import { train, trainOptions, type TrainArgs } from './train.js';

export const demoCommand: CommandModule<GlobalArgs, TrainArgs> = {
  command: 'demo',
  describe: 'engine self-check + a short search (ResNet8 on DIANA, a few minutes on 2 cores)',
  builder: (y) => trainOptions(y)
    .option('model', { choices: ['resnet8', 'resnet20', 'mobilenetv1', 'tinycnn'], default: 'resnet8' })
    .option('epochs-warmup', { type: 'number', default: 2 })
    .option('epochs-search', { type: 'number', default: 2 })
    .option('epochs-finetune', { type: 'number', default: 1 })
    .option('batch', { type: 'number', default: 64 })
    .option('train-limit', { type: 'number', default: 2560 })
    .option('val-size', { type: 'number', default: 1000 })
    .option('lr-alpha', { type: 'number', default: 0.02, describe: 'raised from the reference 1e-3: the demo searches for a few hundred steps only' })
    .option('lambda', { type: 'number', default: 1 })
    .option('out', { type: 'string', default: 'runs/demo' })
    .option('resume', { type: 'boolean', default: false }) as never,
  handler: async (args) => {
    const info = await startEngine(args);
    if (info.engine === 'wasm' && !(await checkKernels())) throw new Error('engine self-check failed');
    await train(args, info);
  },
};
