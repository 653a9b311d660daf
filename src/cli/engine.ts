/** `hetsplit engine`: which engine runs, and a check of our WASM training kernels vs TF.js CPU. */
import type { CommandModule } from 'yargs';
import { ExitStatus } from '../util/errors.js';
import { selfCheck } from '../backend/selfcheck.js';
import { startEngine, type GlobalArgs } from './common.js';

export async function runEngineCheck(args: GlobalArgs): Promise<boolean> {
  const info = await startEngine(args);
  if (info.engine !== 'wasm') {
    console.log('self-check: the WASM training kernels are only used on the wasm engine; nothing to check');
    return true;
  }
  return checkKernels();
}

export async function checkKernels(): Promise<boolean> {
  const rows = await selfCheck();
  for (const r of rows) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.kernel.padEnd(38)} rel. error ${r.err.toExponential(2)}`);
  const ok = rows.every((r) => r.ok);
  console.log(ok ? 'self-check passed' : 'self-check FAILED');
  return ok;
}

export const engineCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'engine',
  describe: 'show the compute engine and check the WASM training kernels against the CPU backend',
  handler: async (args) => { if (!(await runEngineCheck(args))) throw new ExitStatus(1); },
};
