/** `hetsplit export RUN --format json|tfjs|onnx|onnx-qdq --out DIR`: artifacts of a mapped network. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import type { CommandModule } from 'yargs';
import { exportJson } from '../export/json.js';
import { loadRun } from '../export/load.js';
import { exportOnnx } from '../export/onnx.js';
import { exportOnnxQdq } from '../export/onnx_qdq.js';
import { exportTfjs } from '../export/tfjs.js';
import { startEngine, type GlobalArgs } from './common.js';

interface ExportArgs extends GlobalArgs { run: string; format: 'json' | 'tfjs' | 'onnx' | 'onnx-qdq'; out: string }

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export <run>',
  describe: 'export a finished run\'s mapped network (json: integer weights per CU; tfjs: a graph model; onnx: per-CU convolutions + concat; onnx-qdq: the same in QuantizeLinear/DequantizeLinear form, integer convolutions where a quantizer follows)',
  builder: (y) => y
    .positional('run', { type: 'string', demandOption: true, describe: 'run directory' })
    .option('format', { choices: ['json', 'tfjs', 'onnx', 'onnx-qdq'] as const, demandOption: true })
    .option('out', { type: 'string', demandOption: true, describe: 'output directory' }) as never,
  handler: async (args) => {
    if (existsSync(args.out) && !statSync(args.out).isDirectory()) throw new UserError(`--out ${args.out}: a file of that name exists (expected a directory)`);
    await startEngine(args);
    const run = await loadRun(path.resolve(args.run));
    try {
      if (args.format === 'json') {
        const file = path.join(args.out, 'mapped-network.json');
        await exportJson(run, file);
        console.log(`wrote ${file}`);
      } else if (args.format === 'onnx') {
        const file = path.join(args.out, 'model.onnx');
        const r = await exportOnnx(run, file);
        console.log(`wrote ${file} (${r.nodes} nodes, ${r.initializers} initializers)`);
      } else if (args.format === 'onnx-qdq') {
        const file = path.join(args.out, 'model-qdq.onnx');
        const r = await exportOnnxQdq(run, file);
        console.log(`wrote ${file} (${r.nodes} nodes, ${r.initializers} initializers; ${r.integerConvs} per-CU convolutions in integer QDQ form, ${r.floatConvs} float-compute)`);
      } else {
        const r = await exportTfjs(run, args.out);
        console.log(`wrote ${r.modelJson} (${r.nodes} nodes) and ${r.weightsBin}`);
      }
    } finally {
      run.model.dispose();
    }
  },
};
