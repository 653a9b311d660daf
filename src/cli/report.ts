/** `hetsplit report DIR...`: one self-contained report.html of sweeps or runs. */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { collectRuns } from '../pareto/front.js';
import { reportData, reportHtml } from '../report/html.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { GlobalArgs } from './common.js';

interface ReportArgs extends GlobalArgs { dirs: string[]; out?: string }

/** Writes the report of the finished runs in `dirs` to `file`; returns the number of runs. */
export async function writeReport(dirs: string[], file: string): Promise<number> {
  const rows = collectRuns(dirs);
  await writeFileAtomic(file, reportHtml(reportData(rows, path.dirname(file))));
  return rows.length;
}

export const reportCommand: CommandModule<GlobalArgs, ReportArgs> = {
  command: 'report <dirs..>',
  describe: 'one self-contained report.html: fronts, per-run channel split, schedule timeline, training curves, all runs with their files',
  builder: (y) => y
    .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'sweep or run directories' })
    .option('out', { type: 'string', describe: 'the HTML file (default: report.html in the first directory)' }) as never,
  handler: async (args) => {
    const file = path.resolve(args.out ?? path.join(args.dirs[0]!, 'report.html'));
    const n = await writeReport(args.dirs, file);
    console.log(`report (${n} runs): ${file}`);
  },
};
