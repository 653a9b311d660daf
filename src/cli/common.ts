/** What every command shares: the engine flag, engine start-up and its first log line. */
import type { Argv } from 'yargs';
import { UserError } from '../util/errors.js';
import {
  describeEngine, ENGINES, initEngine, KERNEL_SETS, type EngineChoice, type EngineInfo, type KernelChoice,
} from '../backend/engine.js';

export interface GlobalArgs { engine: EngineChoice; threads?: number; kernels?: KernelChoice }

export function withGlobals<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y.option('engine', {
    choices: ENGINES, default: 'auto' as EngineChoice,
    describe: 'compute engine: tfjs-node > wasm > cpu when auto',
  }).option('kernels', {
    choices: KERNEL_SETS, default: 'auto' as KernelChoice,
    describe: 'kernel set on the wasm engine; auto takes native (C++ addon, per-CPU SIMD), else wasm (our SIMD128 module), else tfjs (XNNPACK)',
  }).option('threads', {
    type: 'number',
    describe: 'WASM engine threads (default: HETSPLIT_THREADS, else every core; at most 8)',
    coerce: (v: unknown) => {
      if (v === undefined) return v;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UserError(`--threads ${String(v)}: expected a whole number ≥ 1`);
      return v;
    },
  }) as Argv<T & GlobalArgs>;
}

/**
 * A flag given twice: the last one wins (as in most CLIs), never an array; options
 * declared as arrays (and variadic positionals) keep every value. Done as a middleware
 * rather than yargs' `duplicate-arguments-array: false`, which also keeps only the last
 * value of a variadic positional (yargs issue #2011: `pareto a b` saw only `b`).
 */
export function lastFlagWins<T>(y: Argv<T>): Argv<T> {
  return y.middleware((argv) => {
    // getOptions() is public yargs API (the current command's options) but not in @types/yargs.
    const declared = (y as unknown as { getOptions(): { array: string[] } }).getOptions().array;
    // yargs lists an array option by its declared (kebab-case) name; argv also has its camelCase alias.
    const arrays = new Set([...declared, ...declared.map((k) => k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()))]);
    const a = argv as Record<string, unknown>;
    for (const k of Object.keys(a)) {
      const v = a[k];
      if (k !== '_' && Array.isArray(v) && !arrays.has(k)) a[k] = v[v.length - 1];
    }
  }, true);
}

let announced = '';
/** A new command line: its first startEngine prints the engine again. */
export function newInvocation(): void { announced = ''; }
/**
 * Starts the engine and prints it as the command's first log line (`log`: stderr for
 * commands whose stdout is JSON), once per command line (a
 * command that runs others in-process, such as demo or sweep, does not repeat it).
 */
export async function startEngine(args: GlobalArgs, log: (line: string) => void = (l) => console.log(l)): Promise<EngineInfo> {
  const info = await initEngine(args.engine, args.threads, args.kernels);
  const line = describeEngine(info);
  if (line !== announced) {
    log(line);
    if (info.fallbacks.length) log(`  (${info.fallbacks.join('; ')})`);
    announced = line;
  }
  return info;
}

export function showProgress(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

let argvOfRun: string[] = [];
/** The arguments the CLI was invoked with (commands that re-emit their own command line). */
export function invocationArgv(): string[] { return argvOfRun; }
export function setInvocationArgv(argv: string[]): void { argvOfRun = argv.slice(); }
