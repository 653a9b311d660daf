/** hetsplit command line as a function (the bin entry is main.ts; tests call runCli). */
import yargs from 'yargs';
import { EngineError } from '../backend/engine.js';
import { ExitStatus, UserError } from '../util/errors.js';
import { benchCommand } from './bench.js';
import { lastFlagWins, newInvocation, setInvocationArgv, withGlobals } from './common.js';
import { costCommand } from './cost.js';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { engineCommand } from './engine.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { paretoCommand } from './pareto.js';
import { reportCommand } from './report.js';
import { scheduleCommand } from './schedule.js';
import { selectCommand } from './select.js';
import { sweepCommand } from './sweep.js';
import { trainCommand } from './train.js';

const FS_CODES: Record<string, string> = {
  ENOTDIR: 'a file is in the way where a directory is needed',
  EISDIR: 'a directory where a file is needed',
  EEXIST: 'already exists',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOENT: 'no such file or directory',
};

/** Usage and input errors: one line on stderr, exit code 2. Returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  setInvocationArgv(argv);
  newInvocation();
  const cli = lastFlagWins(withGlobals(yargs(argv)))
    .scriptName('hetsplit')
    .command(demoCommand as never)
    .command(engineCommand as never)
    .command(dataCommand as never)
    .command(importCommand as never)
    .command(trainCommand as never)
    .command(sweepCommand as never)
    .command(paretoCommand as never)
    .command(reportCommand as never)
    .command(selectCommand as never)
    .command(exportCommand as never)
    .command(scheduleCommand as never)
    .command(costCommand as never)
    .command(benchCommand as never)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UserError(msg);
    })
    .help();
  try {
    await cli.parseAsync();
    return 0;
  } catch (e) {
    if (e instanceof ExitStatus) return e.code;
    // yargs reports its own validation (and errors thrown in coerce) as YError.
    if (e instanceof UserError || e instanceof EngineError || (e instanceof Error && e.name === 'YError')) {
      process.stderr.write(`hetsplit: ${e.message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
      return 2;
    }
    // A file-system refusal on a path the user gave (a file where a directory belongs, no
    // permission, a read-only or full disk): the user's to fix, so one line, exit 2.
    const fsErr = e as NodeJS.ErrnoException;
    if (fsErr && typeof fsErr.code === 'string' && FS_CODES[fsErr.code] && typeof fsErr.path === 'string') {
      process.stderr.write(`hetsplit: ${fsErr.path}: ${FS_CODES[fsErr.code]} (${fsErr.code})\n`);
      return 2;
    }
    throw e;
  }
}
