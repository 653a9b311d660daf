/**
 * The WASM backend on several threads under Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD build (XNNPACK on a pthreadpool of Web Workers),
 * but under Node it never uses it, for three reasons this module works around:
 *   1. the flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false when IS_NODE;
 *   2. its loader hands Emscripten a Blob URL for the pthread worker script and for the
 *      main script, which Node's worker_threads cannot load: we write the worker script
 *      to a file once (atomically, in the OS temp directory) and give the main script's
 *      real path;
 *   3. the C++ side caps the pool at emscripten_num_logical_cores() / 2 (it assumes
 *      2 hyper-threads per core) and Node reports os.cpus().length there, so a 2-core
 *      machine gets 1 thread whatever is asked: we answer that import with 2·threads.
 * The module object then gets the same `tfjs` bridge the package's own init() builds,
 * and the package's BackendWasm class (kernels and all) runs on it unchanged.
 *
 * Emscripten ref()s each running pthread worker, which would keep Node alive after the
 * command ends; the pool's workers are unref()'d once it is up.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const require = createRequire(import.meta.url);

/** The priority tfjs-backend-wasm registers 'wasm' with; replacements keep it. */
export const WASM_PRIORITY = 2;

interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread?: { runningWorkers: { unref(): void }[] };
  tfjs?: unknown;
}
type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

function packageFiles(): { mainJs: string; wasm: string; workerSource: string } {
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainJs = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const wasm = path.join(dir, 'tfjs-backend-wasm-threaded-simd.wasm');
  const { wasmWorkerContents } = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as
    { wasmWorkerContents: string };
  // The package's template literal turned the script's `\n` escapes into newlines inside
  // string literals; its own loader undoes that the same way before making its Blob.
  return { mainJs, wasm, workerSource: wasmWorkerContents.replace(/\n/g, '\\n') };
}

/** Writes the pthread worker script where Node can load it; same content → same file. */
function workerScript(source: string): string {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), 'hetsplit-wasm');
  const file = path.join(dir, `worker-${hash}.cjs`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, source);
    renameSync(tmp, file);
  }
  return file;
}

let sharedMemory: WebAssembly.Memory | null = null;

/**
 * The threaded backend's shared memory (hetsplit's own WebAssembly kernels run in it), or
 * null when the threaded build has not started.
 */
export function threadedWasmMemory(): WebAssembly.Memory | null {
  return sharedMemory;
}

/** Instantiates the threaded SIMD module with a pool of `threads` threads. */
async function instantiate(threads: number): Promise<EmscriptenModule> {
  const { mainJs, wasm, workerSource } = packageFiles();
  const worker = workerScript(workerSource);
  const factory = require(mainJs) as Factory;
  const binary = readFileSync(wasm);
  const mod = await factory({
    locateFile: (p: string) => (p.endsWith('.worker.js') ? worker : p.endsWith('.wasm') ? wasm : path.join(path.dirname(mainJs), p)),
    mainScriptUrlOrBlob: mainJs,
    instantiateWasm: (
      info: { env: Record<string, unknown> },
      receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
    ) => {
      const imports = { ...info, env: { ...info.env, emscripten_num_logical_cores: () => 2 * threads } };
      if (info.env.memory instanceof WebAssembly.Memory) sharedMemory = info.env.memory;
      void WebAssembly.instantiate(binary, imports as WebAssembly.Imports).then((r) => receive(r.instance, r.module));
      return {};
    },
  });
  mod.tfjs = {
    init: mod.cwrap('init', null, []),
    initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
    registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: mod.cwrap('dispose_data', null, ['number']),
    dispose: mod.cwrap('dispose', null, []),
  };
  return mod;
}

/**
 * Replaces the 'wasm' backend factory with one that runs on `threads` threads. Must be
 * called before the backend is first initialised. The backend factory rejects if the
 * threaded module cannot start; the caller then falls back to the single-thread build.
 */
export function registerThreadedWasm(threads: number): void {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    const mod = await instantiate(threads);
    setThreadsCount(threads);
    const backend = new BackendWasm(mod as never);
    for (const w of mod.PThread?.runningWorkers ?? []) w.unref();
    return backend;
  }, WASM_PRIORITY);
}

/** The thread count to use when none is given: HETSPLIT_THREADS, else every core. */
export function defaultThreads(): number {
  const env = process.env.HETSPLIT_THREADS;
  if (env != null && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return n;
    throw new Error(`HETSPLIT_THREADS=${env}: expected a whole number ≥ 1`);
  }
  return Math.max(1, os.availableParallelism());
}
