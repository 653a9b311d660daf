/**
 * hetsplit's own WebAssembly kernels (wasm/hetsplit-kernels.wasm, built from
 * wasm/src/kernels.cc by `npm run build:kernels` and committed): the native addon's kernels
 * compiled for SIMD128, for machines where the addon cannot build. They present the same
 * interface as the addon (NativeAddon), so the same kernel files register them.
 *
 * Memory: the module imports the threaded WASM backend's own shared memory and works on
 * the tensors in place, like the addon. It owns no address there: its control block, its
 * per-thread stacks and its scratch arena are blocks this loader takes from the backend's
 * malloc (see the header of wasm/src/kernels.cc). The module is checked to have no data
 * segment and no start function before it is instantiated into that memory.
 *
 * Threads: the calling thread plus `threads − 1` worker_threads, each with its own
 * instance on the same memory, sleeping in memory.atomic.wait32 between calls.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Geometry, NativeAddon, NativeConfig } from '../native/addon.js';
import { checkConvCall } from '../native/geometry.js';

/** Where the committed module lies; HETSPLIT_WASM_KERNELS points elsewhere. */
export const WASM_KERNELS_PATH = process.env.HETSPLIT_WASM_KERNELS ?? fileURLToPath(
  new URL('../../../wasm/hetsplit-kernels.wasm', import.meta.url));

/**
 * Which convolution kernels this module takes over from TF.js's set: those it runs faster
 * (experiments/bench/wasm-kernels-micro.mjs, 2 threads, Zen 5, medians; GFLOP/s ours vs
 * TF.js's):
 *   [128,32,32,16]x[3,3,16,16]: Conv2D 40.5 vs 65.5, BackpropInput 37.6 vs 63.6,
 *                               BackpropFilter 35.8 vs 17.9
 *   [128,16,16,64]x[3,3,64,64]: Conv2D 51.0 vs 71.8, BackpropInput 50.9 vs 66.6,
 *                               BackpropFilter 50.9 vs 26.2
 *   depthwise [128,16,16,64]:   forward 10.6 vs 21.6, BackpropInput 11.2 vs 20.2,
 *                               BackpropFilter 21.1 vs 1.4
 * XNNPACK's forward igemm (which TF.js's forward and input-gradient kernels run on) beats
 * ours in SIMD128; the filter gradients, which XNNPACK has none of, are ours.
 */
export const WASM_TAKES: readonly string[] = [Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter];

/** Word offsets in the control block (struct Ctx in wasm/src/kernels.cc). */
const W = { generation: 0, nthreads: 1, finished: 2, error: 5, arenaUsed: 8, arenaCap: 9, arena: 10, dclip: 11, geom: 16 };
const CTX_BYTES = 128;
const STACK_BYTES = 256 * 1024;
const ARENA_START = 8 << 20;

interface Exports {
  __stack_pointer: WebAssembly.Global;
  hs_conv2d(a: number, b: number, out: number): number;
  hs_conv2d_backprop_input(a: number, b: number, out: number): number;
  hs_conv2d_backprop_filter(a: number, b: number, out: number): number;
  hs_depthwise(a: number, b: number, out: number): number;
  hs_depthwise_backprop_input(a: number, b: number, out: number): number;
  hs_depthwise_backprop_filter(a: number, b: number, out: number): number;
  hs_batchnorm_forward(x: number, g: number, b: number, rows: number, c: number, eps: number, y: number, stats: number): number;
  hs_batchnorm_backward(dy: number, x: number, g: number, stats: number, rows: number, c: number, dx: number, grads: number): number;
  hs_pact_forward(x: number, n: number, s: number, a: number, y: number): number;
  hs_pact_backward(dy: number, x: number, n: number, a: number, dx: number, dclip: number): number;
}

/** Section ids of a wasm binary, in order. */
export function wasmSectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p++]!;
    let size = 0, shift = 0, b: number;
    do {
      b = bytes[p++]!;
      size |= (b & 127) << shift;
      shift += 7;
    } while (b & 128);
    ids.push(id);
    p += size;
  }
  return ids;
}

/** The committed module, compiled, or why it cannot be used. */
export function compileKernelModule(path = WASM_KERNELS_PATH): WebAssembly.Module {
  if (!existsSync(path)) throw new Error(`no ${path} (\`npm run build:kernels\` builds it)`);
  const bytes = readFileSync(path);
  const ids = wasmSectionIds(bytes);
  if (ids.includes(11) || ids.includes(8)) throw new Error(`${path} has a data segment or a start function; rebuild it with \`npm run build:kernels\``);
  return new WebAssembly.Module(bytes);
}

// A worker: its own instance on the shared memory, then the pool loop for good. A trap is
// recorded in the control block (error word, and its check-out of the run), then the loop
// is re-entered past that run.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { module, memory, ctx, stackTop, thread } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory, hs_ctx: () => ctx } });
inst.exports.__stack_pointer.value = stackTop;
parentPort.postMessage('ready');
let seen = 0;
for (;;) {
  try {
    inst.exports.hs_worker(thread, seen);
  } catch (e) {
    const w = new Int32Array(memory.buffer, ctx, 32);
    seen = Atomics.load(w, ${W.generation});
    Atomics.store(w, ${W.error}, 1);
    Atomics.add(w, ${W.finished}, 1);
    Atomics.notify(w, ${W.finished});
  }
}
`;

type ConvExport = 'hs_conv2d' | 'hs_conv2d_backprop_input' | 'hs_conv2d_backprop_filter' | 'hs_depthwise' |
  'hs_depthwise_backprop_input' | 'hs_depthwise_backprop_filter';

/**
 * Instantiates the kernels on `memory` (the threaded backend's shared memory) with
 * `threads` threads. Resolves once every worker is up.
 */
export async function instantiateWasmKernels(backend: BackendWasm, memory: WebAssembly.Memory, threads: number,
  module: WebAssembly.Module = compileKernelModule()): Promise<NativeAddon> {
  if (!(memory.buffer instanceof SharedArrayBuffer)) throw new Error('the WASM backend\'s memory is not shared (single-thread build)');
  const wasm = backend.wasm;
  const alignedMalloc = (bytes: number, align = 64): number => {
    const raw = wasm._malloc(bytes + align);
    if (!raw) throw new Error(`out of WASM memory (${bytes} bytes for the kernels)`);
    return raw + ((align - (raw % align)) % align);
  };
  // Blocks for the module's whole life: the control block, then one stack per thread.
  const ctx = alignedMalloc(CTX_BYTES);
  const stacks = Array.from({ length: threads }, () => alignedMalloc(STACK_BYTES, 16) + STACK_BYTES);
  const words = () => new Int32Array(memory.buffer, ctx, CTX_BYTES / 4);
  words().fill(0);
  let arenaRaw = 0;
  const setArena = (bytes: number) => {
    if (arenaRaw) wasm._free(arenaRaw);
    arenaRaw = wasm._malloc(bytes + 64);
    if (!arenaRaw) throw new Error(`out of WASM memory (${bytes} bytes of kernel scratch)`);
    const w = words();
    w[W.arena] = arenaRaw + ((64 - (arenaRaw % 64)) % 64);
    w[W.arenaCap] = bytes;
  };
  setArena(ARENA_START);
  words()[W.nthreads] = threads;

  const instance = new WebAssembly.Instance(module, { env: { memory, hs_ctx: () => ctx } });
  const ex = instance.exports as unknown as Exports;
  ex.__stack_pointer.value = stacks[0];
  const workers = await Promise.all(stacks.slice(1).map((stackTop, i) => new Promise<Worker>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctx, stackTop, thread: i + 1 } });
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  })));
  for (const w of workers) w.unref();

  /** Runs a call; grows the arena and calls again while it reports too little scratch. */
  const call = (name: string, run: () => number): void => {
    for (let attempt = 0; ; attempt++) {
      let ok: number;
      try {
        ok = run();
      } catch (e) {
        // Let the workers check out of a run the caller trapped in before anything else runs.
        const w = words();
        for (let f; (f = Atomics.load(w, W.finished)) < threads - 1 && Atomics.load(w, W.generation) > 0;) {
          Atomics.wait(w, W.finished, f, 1000);
        }
        throw new Error(`hetsplit wasm ${name}: ${(e as Error).message}`);
      }
      const w = words();
      if (Atomics.load(w, W.error)) {
        Atomics.store(w, W.error, 0);
        throw new Error(`hetsplit wasm ${name}: a worker thread trapped`);
      }
      if (ok) return;
      const used = w[W.arenaUsed]! >>> 0, cap = w[W.arenaCap]! >>> 0;
      if (attempt >= 4 || cap >= 1 << 30) throw new Error(`hetsplit wasm ${name}: out of memory for kernel scratch`);
      setArena(Math.min(1 << 30, Math.max(2 * cap, used + (used >> 2))));
    }
  };

  const ptr = (v: Float32Array, what: string, n: number): number => {
    // (After the heap grows, memory.buffer is a new object: views of the older one are
    // still the same memory, so only their kind is checked.)
    if (!(v instanceof Float32Array) || !(v.buffer instanceof SharedArrayBuffer)) {
      throw new TypeError(`hetsplit wasm: ${what} must be a Float32Array view of the WASM heap`);
    }
    if (v.length !== n) throw new TypeError(`hetsplit wasm: ${what} has ${v.length} floats, expected ${n}`);
    if (v.byteOffset + v.byteLength > memory.buffer.byteLength) throw new TypeError(`hetsplit wasm: ${what} lies outside the WASM heap`);
    return v.byteOffset;
  };

  const conv = (name: ConvExport, kind: Parameters<typeof checkConvCall>[0]) =>
    (a: Float32Array, b: Float32Array, out: Float32Array, geometry: Geometry): void => {
      const sizes = checkConvCall(kind, geometry);
      const pa = ptr(a, 'first input', sizes[0]), pb = ptr(b, 'second input', sizes[1]), po = ptr(out, 'output', sizes[2]);
      words().set(geometry.subarray(0, 15), W.geom);
      call(name, () => ex[name](pa, pb, po));
    };

  /** Heap addresses of a call's arrays, each checked for its expected length. */
  const heapPointers = (what: string, checks: [Float32Array, string, number][]): number[] =>
    checks.map(([v, n, len]) => ptr(v, `${what} ${n}`, len));

  let active = threads;
  return {
    takes: WASM_TAKES,
    configure(options: { threads?: number; isa?: string } = {}): NativeConfig {
      if (options.isa !== undefined && options.isa !== 'simd128') {
        throw new TypeError(`hetsplit wasm: isa '${options.isa}' is not available (simd128)`);
      }
      if (options.threads !== undefined) {
        if (!Number.isInteger(options.threads) || options.threads < 1) throw new TypeError('hetsplit wasm: threads must be a whole number ≥ 1');
        active = Math.min(threads, options.threads);
        words()[W.nthreads] = active;
      }
      return { isa: 'simd128', threads: active, isas: ['simd128'] };
    },
    conv2d: conv('hs_conv2d', 'conv'),
    conv2dBackpropInput: conv('hs_conv2d_backprop_input', 'convInput'),
    conv2dBackpropFilter: conv('hs_conv2d_backprop_filter', 'convFilter'),
    depthwise: conv('hs_depthwise', 'dw'),
    depthwiseBackpropInput: conv('hs_depthwise_backprop_input', 'dwInput'),
    depthwiseBackpropFilter: conv('hs_depthwise_backprop_filter', 'dwFilter'),
    batchNormForward(x, gamma, beta, y, stats, eps) {
      const c = gamma.length, n = x.length;
      if (c === 0 || n % c !== 0) throw new TypeError('hetsplit wasm: batchNormForward: x is not rows x C');
      const [px, pg, pb, py, ps] = heapPointers('batchNormForward',
        [[x, 'x', n], [gamma, 'gamma', c], [beta, 'beta', c], [y, 'y', n], [stats, 'stats', 3 * c]]);
      call('batchNormForward', () => ex.hs_batchnorm_forward(px!, pg!, pb!, n / c, c, eps, py!, ps!));
    },
    batchNormBackward(dy, x, gamma, stats, dx, grads) {
      const c = gamma.length, n = x.length;
      if (c === 0 || n % c !== 0) throw new TypeError('hetsplit wasm: batchNormBackward: x is not rows x C');
      const [pd, px, pg, ps, pdx, pgr] = heapPointers('batchNormBackward',
        [[dy, 'dy', n], [x, 'x', n], [gamma, 'gamma', c], [stats, 'stats', 3 * c], [dx, 'dx', n], [grads, 'grads', 2 * c]]);
      call('batchNormBackward', () => ex.hs_batchnorm_backward(pd!, px!, pg!, ps!, n / c, c, pdx!, pgr!));
    },
    pactForward(x, y, scale, clip) {
      const px = ptr(x, 'pactForward x', x.length), py = ptr(y, 'pactForward y', x.length);
      call('pactForward', () => ex.hs_pact_forward(px, x.length, scale, clip, py));
    },
    pactBackward(dy, x, dx, clip) {
      const n = x.length;
      const pd = ptr(dy, 'pactBackward dy', n), px = ptr(x, 'pactBackward x', n), pdx = ptr(dx, 'pactBackward dx', n);
      call('pactBackward', () => ex.hs_pact_backward(pd, px, n, clip, pdx, ctx + 4 * W.dclip));
      return new Float32Array(memory.buffer, ctx + 4 * W.dclip, 1)[0]!;
    },
  };
}
