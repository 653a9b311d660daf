/**
 * Loads hetsplit's native kernel addon (native/, built by `npm run build:native`, which
 * `npm install` runs; see scripts/build-native.mjs). Absent or unloadable, the engine
 * falls back to the WebAssembly kernels and says why once, in its first log line.
 *
 * Memory: the addon reads and writes the WASM heap in place. Each call receives
 * Float32Array views of the inputs and of an output the WASM backend allocated first, so
 * nothing is copied and the tensors stay owned by the WASM backend.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** [b,h,w,ci, kh,kw,co, oh,ow, sh,sw, dh,dw, pt,pl] */
export type Geometry = Int32Array;
type Call = (a: Float32Array, b: Float32Array, out: Float32Array, geometry: Geometry) => void;

export interface NativeConfig { isa: string; threads: number; isas: string[] }

export interface NativeAddon {
  /**
   * The convolution kernels (by TF.js kernel name) this implementation should take over;
   * absent: all of them. BatchNorm and PACT are always taken.
   */
  readonly takes?: readonly string[];
  configure(options?: { threads?: number; isa?: string }): NativeConfig;
  conv2d: Call;
  conv2dBackpropInput: Call;
  conv2dBackpropFilter: Call;
  depthwise: Call;
  depthwiseBackpropInput: Call;
  depthwiseBackpropFilter: Call;
  batchNormForward(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, stats: Float32Array, eps: number): void;
  batchNormBackward(dy: Float32Array, x: Float32Array, gamma: Float32Array, stats: Float32Array, dx: Float32Array, grads: Float32Array): void;
  pactForward(x: Float32Array, y: Float32Array, scale: number, clip: number): void;
  /** Returns dclip. */
  pactBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, clip: number): number;
}

/** Where the build puts the addon; HETSPLIT_NATIVE_ADDON points elsewhere (another build). */
export const NATIVE_ADDON_PATH = process.env.HETSPLIT_NATIVE_ADDON ?? fileURLToPath(
  new URL('../../../native/build/Release/hetsplit_native.node', import.meta.url));

let loaded: { addon: NativeAddon | null; reason: string | null } | undefined;

/** The addon, or null with the reason it is unavailable. Loads once. */
export function loadNative(): { addon: NativeAddon | null; reason: string | null } {
  if (loaded) return loaded;
  if (!existsSync(NATIVE_ADDON_PATH)) {
    loaded = {
      addon: null,
      reason: `native kernels not built (no ${NATIVE_ADDON_PATH}; \`npm run build:native\` says why)`,
    };
    return loaded;
  }
  try {
    const require = createRequire(import.meta.url);
    loaded = { addon: require(NATIVE_ADDON_PATH) as NativeAddon, reason: null };
  } catch (e) {
    loaded = { addon: null, reason: `native kernels failed to load (${(e as Error).message.split('\n')[0]})` };
  }
  return loaded;
}
