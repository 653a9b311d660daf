/** `hetsplit cost`: per-layer and network costs of a model on a platform (no training). */
import type { CommandModule } from 'yargs';
import { loadPlatform } from '../hw/platform.js';
import { costCsv, costReport, costText } from '../hw/report.js';
import { resolveModel } from '../models/resolve.js';
import { MODELS } from '../models/zoo.js';
import { UserError } from '../util/errors.js';
import type { GlobalArgs } from './common.js';

interface CostArgs extends GlobalArgs { platform: string; model: string; classes: number; json?: boolean; csv?: boolean }

export const costCommand: CommandModule<GlobalArgs, CostArgs> = {
  command: 'cost',
  describe: 'latency and energy of a model on a platform: per layer on each CU, and network totals for all:<cu> and min-latency',
  builder: (y) => y
    .option('platform', { type: 'string', default: 'diana', describe: 'built-in platform (diana, darkside, diana-riscv) or a JSON file' })
    .option('model', { type: 'string', default: 'resnet20', describe: `${Object.keys(MODELS).join(' | ')}, an .onnx file, or a directory with model.json` })
    .option('classes', { type: 'number', default: 10, describe: 'classifier outputs (10: CIFAR-10, 100: CIFAR-100)' })
    .option('json', { type: 'boolean', describe: 'JSON on stdout' })
    .option('csv', { type: 'boolean', describe: 'CSV on stdout, one row per layer' })
    .conflicts('json', 'csv')
    .check((a) => {
      if (!Number.isInteger(a.classes) || a.classes < 1) throw new UserError(`--classes: expected a positive integer, got ${a.classes}`);
      return true;
    }) as never,
  // Pure arithmetic on the platform's expressions: no tensor engine is started.
  handler: (args) => {
    const p = loadPlatform(args.platform);
    const model = resolveModel(args.model, args.classes);
    if (model.matches) console.error(`${args.model}: the structure of the built-in model ${model.matches}`);
    const report = costReport(p, model);
    const names = p.cus.map((c) => c.name);
    if (args.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else if (args.csv) process.stdout.write(costCsv(report, names));
    else console.log(costText(report, names));
  },
};
