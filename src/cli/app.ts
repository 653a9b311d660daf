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
    if (e instanceof UserError || e instanceof EngineError) {
      process.stderr.write(`hetsplit: ${e.message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
      return 2;
    }
    throw e;
  }
}
