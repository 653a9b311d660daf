/** What every command shares: the engine flag, engine start-up and its first log line. */
import type { Argv } from 'yargs';
import { describeEngine, ENGINES, initEngine, type EngineChoice, type EngineInfo } from '../backend/engine.js';

export interface GlobalArgs { engine: EngineChoice; threads?: number }

export function withGlobals<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y.option('engine', {
    choices: ENGINES, default: 'auto' as EngineChoice,
    describe: 'compute engine: tfjs-node > wasm > cpu when auto',
  }).option('threads', {
    type: 'number',
    describe: 'WASM engine threads (default: HETSPLIT_THREADS, else every core; at most 8)',
  }) as Argv<T & GlobalArgs>;
}

/** Starts the engine and prints it as the command's first log line. */
export async function startEngine(args: GlobalArgs): Promise<EngineInfo> {
  const info = await initEngine(args.engine, args.threads);
  console.log(describeEngine(info));
  for (const f of info.fallbacks) console.log(`  (${f})`);
  return info;
}

export function showProgress(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

let argvOfRun: string[] = [];
/** The arguments the CLI was invoked with (commands that re-emit their own command line). */
export function invocationArgv(): string[] { return argvOfRun; }
export function setInvocationArgv(argv: string[]): void { argvOfRun = argv.slice(); }
