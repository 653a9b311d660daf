#!/usr/bin/env node
/** The `hetsplit` executable. */
import { hideBin } from 'yargs/helpers';
import { runCli } from './app.js';

// A sweep's worker process: stop when the sweep that started it is gone (killed with -9,
// it could not stop us), rather than keep training into its directory unsupervised.
const parent = Number(process.env.HETSPLIT_PARENT_PID);
if (parent > 0) {
  setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write(`hetsplit: the sweep (process ${parent}) that started this worker is gone; stopping\n`);
      process.exit(143);
    }
  }, 2000).unref();
}

runCli(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
}, (e) => {
  process.stderr.write(`hetsplit: internal error: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
