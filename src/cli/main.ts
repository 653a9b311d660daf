#!/usr/bin/env node
/** The `hetsplit` executable. */
import { hideBin } from 'yargs/helpers';
import { runCli } from './app.js';

runCli(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
}, (e) => {
  process.stderr.write(`hetsplit: internal error: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
