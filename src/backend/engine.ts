/**
 * Engine choice: tfjs-node (libtensorflow) > WASM (XNNPACK + our training kernels) > CPU.
 * Every command calls `initEngine` first and logs `describeEngine()` as its first line.
 */
import * as tf from '@tensorflow/tfjs-core';
// The union package registers every op's gradient (and the CPU backend) on the same
// tfjs-core instance the WASM backend uses; tfjs-core alone ships no gradients.
import '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { loadNative, type NativeAddon } from './native/addon.js';
import { registerNativeKernels, unregisterNativeKernels } from './native/register.js';
import { registerWasmTrainingKernels } from './wasm/register.js';
import { defaultThreads, registerThreadedWasm, threadedWasmMemory, WASM_PRIORITY } from './wasm/threaded.js';
import { instantiateWasmKernels } from './wasmkernels/load.js';

export const ENGINES = ['auto', 'node', 'wasm', 'cpu'] as const;
export type EngineChoice = (typeof ENGINES)[number];
export type EngineName = Exclude<EngineChoice, 'auto'>;

/**
 * The convolution kernels on the WASM engine: `native` (our C++ addon, native/), `tfjs`
 * (TF.js's XNNPACK kernels and our compositions of them, src/backend/wasm/). `auto` takes
 * native where it loaded (measured faster on every convolution, experiments/bench).
 */
export const KERNEL_SETS = ['auto', 'native', 'wasm', 'tfjs'] as const;
export type KernelChoice = (typeof KERNEL_SETS)[number];

export interface EngineInfo {
  engine: EngineName;
  backend: string;
  threads: number;
  simd: boolean | null;
  tfjsVersion: string;
  /** Why a preferred engine was not used (auto mode), for the log. */
  fallbacks: string[];
  /** The convolution kernels in use: 'native avx512' (its instruction set), 'tfjs'. */
  kernels: string;
}

let current: EngineInfo | null = null;

export class EngineError extends Error {}

async function tryNode(): Promise<string | null> {
  try {
    // Optional dependency: absent where its install could not download libtensorflow.
    const modName = '@tensorflow/tfjs-node';
    await import(modName);
    return null;
  } catch (e) {
    return `tfjs-node unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}

async function tryWasm(): Promise<string | null> {
  try {
    registerWasmTrainingKernels();
    await import('@tensorflow/tfjs-backend-wasm');
    return null;
  } catch (e) {
    return `wasm unavailable (${(e as Error).message.split('\n')[0]})`;
  }
}

/** The most threads the WASM build's pool takes (it pre-creates 8 workers). */
const MAX_WASM_THREADS = 8;

/**
 * Starts 'wasm' on `threads` threads (the threaded SIMD build, see wasm/threaded.ts), or
 * on the package's single-thread build for 1 thread or when the threaded one fails.
 */
async function setWasmBackend(threads: number, fallbacks: string[]): Promise<boolean> {
  // Emscripten's runtime adds process handlers that rethrow any uncaught error from its
  // own code, so Node prints the module's 50 kB minified line with it: drop them.
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((e) => new Set(process.listeners(e as 'uncaughtException')));
  try {
    return await startWasm(threads, fallbacks);
  } finally {
    events.forEach((e, i) => {
      for (const l of process.listeners(e as 'uncaughtException')) if (!before[i]!.has(l)) process.removeListener(e, l);
    });
  }
}

async function startWasm(threads: number, fallbacks: string[]): Promise<boolean> {
  if (threads > 1) {
    const plain = tf.findBackendFactory('wasm');
    registerThreadedWasm(threads);
    if (await tf.setBackend('wasm')) return true;
    fallbacks.push(`threaded wasm failed to start, using 1 thread`);
    tf.removeBackend('wasm');
    if (plain) tf.registerBackend('wasm', plain, WASM_PRIORITY);
  }
  return tf.setBackend('wasm');
}

let wasmKernels: Promise<{ addon: NativeAddon | null; reason: string | null }> | undefined;

/** hetsplit's own WebAssembly kernels on the running threaded backend (loaded once). */
export function loadWasmKernels(threads: number): Promise<{ addon: NativeAddon | null; reason: string | null }> {
  wasmKernels ??= (async () => {
    const memory = threadedWasmMemory();
    if (!memory || threads < 2) return { addon: null, reason: 'hetsplit wasm kernels need the threaded WASM engine (2+ threads)' };
    try {
      return { addon: await instantiateWasmKernels(tf.backend() as BackendWasm, memory, threads), reason: null };
    } catch (e) {
      return { addon: null, reason: `hetsplit wasm kernels unavailable (${(e as Error).message.split('\n')[0]})` };
    }
  })();
  return wasmKernels;
}

/**
 * Puts the chosen kernel set in place on a started WASM engine; returns its name. `auto`
 * takes the native addon, else hetsplit's WebAssembly kernels, else TF.js's own, recording
 * why in `fallbacks`; a forced set that cannot load is an EngineError.
 */
async function applyKernels(kernels: KernelChoice, threads: number, fallbacks: string[]): Promise<string> {
  if (kernels === 'tfjs') {
    unregisterNativeKernels();
    return 'tfjs';
  }
  if (kernels === 'native' || kernels === 'auto') {
    const { addon, reason } = loadNative();
    if (addon) {
      const isa = process.env.HETSPLIT_NATIVE_ISA;
      let config;
      try {
        config = addon.configure({ threads, ...(isa ? { isa } : {}) });
      } catch (e) {
        throw new EngineError(`HETSPLIT_NATIVE_ISA=${isa}: ${(e as Error).message.replace(/^hetsplit native: /, '')}`);
      }
      registerNativeKernels(addon);
      return `native ${config.isa}`;
    }
    if (kernels === 'native') throw new EngineError(`--kernels native: ${reason}`);
    fallbacks.push(reason!);
  }
  const { addon, reason } = await loadWasmKernels(threads);
  if (!addon) {
    if (kernels === 'wasm') throw new EngineError(`--kernels wasm: ${reason}`);
    fallbacks.push(reason!);
    unregisterNativeKernels();
    return 'tfjs';
  }
  addon.configure({ threads });
  registerNativeKernels(addon);
  return 'wasm simd128';
}

/** Selects and initialises the engine. Idempotent for the same choice. */
export async function initEngine(choice: EngineChoice = 'auto', threads?: number,
  kernels: KernelChoice = 'auto'): Promise<EngineInfo> {
  // PROD silences TF.js's console banners (e.g. the CPU backend's 'install tfjs-node' notice).
  tf.env().set('PROD', true);
  if (current && (choice === 'auto' || choice === current.engine)) {
    // Another backend may have been activated meanwhile (tests compare against 'cpu').
    if (tf.getBackend() !== current.backend) await tf.setBackend(current.backend);
    if (current.engine === 'wasm' && kernels !== 'auto' && !current.kernels.startsWith(kernels)) {
      current = { ...current, kernels: await applyKernels(kernels, current.threads, current.fallbacks) };
    }
    return current;
  }
  const fallbacks: string[] = [];
  let wasmThreads: number;
  try {
    wasmThreads = Math.min(MAX_WASM_THREADS, threads ?? defaultThreads());
  } catch (e) {
    throw new EngineError((e as Error).message);
  }
  if (!(Number.isInteger(wasmThreads) && wasmThreads >= 1)) {
    throw new EngineError(`--threads ${threads}: expected a whole number ≥ 1`);
  }
  const order: EngineName[] = choice === 'auto' ? ['node', 'wasm', 'cpu'] : [choice];
  for (const engine of order) {
    const err = engine === 'node' ? await tryNode() : engine === 'wasm' ? await tryWasm() : null;
    const backend = engine === 'node' ? 'tensorflow' : engine;
    const started = err == null &&
      (engine === 'wasm' ? await setWasmBackend(wasmThreads, fallbacks) : await tf.setBackend(backend));
    if (started) {
      await tf.ready();
      const nThreads = engine === 'wasm' ? getThreadsCount() : engine === 'cpu' ? 1 : -1;
      if (engine !== 'wasm' && kernels === 'native') {
        throw new EngineError(`--kernels native needs the wasm engine (this is '${engine}')`);
      }
      current = {
        engine, backend, fallbacks,
        threads: nThreads,
        simd: engine === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null,
        tfjsVersion: tf.version_core,
        kernels: engine === 'wasm' ? await applyKernels(kernels, nThreads, fallbacks) : engine === 'node' ? 'libtensorflow' : 'tfjs',
      };
      if (engine === 'cpu') {
        process.stderr.write('WARNING: running on the pure-JS CPU engine: training will be ~100x slower than on wasm.\n');
      }
      return current;
    }
    fallbacks.push(err ?? `${engine} backend failed to initialise`);
  }
  throw new EngineError(`engine '${choice}' could not be initialised: ${fallbacks.join('; ')}`);
}

export function engineInfo(): EngineInfo {
  if (!current) throw new EngineError('initEngine() has not been called');
  return current;
}

export function describeEngine(info: EngineInfo = engineInfo()): string {
  const extra = info.engine === 'wasm'
    ? `, ${info.threads} thread(s), simd ${info.simd ? 'on' : 'off'}, kernels ${info.kernels}` : '';
  return `engine: ${info.engine} (tfjs ${info.tfjsVersion}${extra})`;
}
