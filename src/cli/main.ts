#!/usr/bin/env node
/** hetsplit command line. Usage and input errors: one line on stderr, exit code 2. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EngineError } from '../backend/engine.js';
import { UserError } from '../util/errors.js';
import { benchCommand } from './bench.js';
import { withGlobals } from './common.js';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { engineCommand } from './engine.js';

function fail(message: string, code: number): never {
  process.stderr.write(`hetsplit: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
  process.exit(code);
}

export async function main(argv: string[]): Promise<void> {
  const cli = withGlobals(yargs(argv))
    .scriptName('hetsplit')
    .command(demoCommand as never)
    .command(engineCommand as never)
    .command(dataCommand as never)
    .command(benchCommand as never)
    .demandCommand(1, 'name a command (see --help)')
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      fail(msg, 2);
    })
    .help();
  try {
    await cli.parseAsync();
  } catch (e) {
    if (e instanceof UserError || e instanceof EngineError) fail(e.message, 2);
    throw e;
  }
}

main(hideBin(process.argv)).catch((e) => {
  process.stderr.write(`hetsplit: internal error: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
