#!/usr/bin/env node
/**
 * Builds hetsplit's own WebAssembly kernels (wasm/src/kernels.cc, which compiles the native
 * addon's kernels_impl.h for wasm32 SIMD128) into wasm/hetsplit-kernels.wasm, with
 * Debian's clang + lld (`apt-get install clang-14 lld-14`). The built module is committed,
 * so a fresh machine never needs this toolchain; `npm run build:kernels` rebuilds it.
 *
 * Beside it, wasm/hetsplit-kernels.json records the sha256 of every source and the flags,
 * so a test can tell when the committed module is older than its sources.
 *
 * The module runs inside the TF.js backend's own memory, so the build refuses a module
 * with any data segment or start function (it would write at addresses the backend's
 * allocator owns), by the same check the loader makes (compileKernelModule in
 * src/backend/wasmkernels/load.ts, built into dist/); see the header of wasm/src/kernels.cc.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCES = ['wasm/src/kernels.cc', 'native/src/kernels.h', 'native/src/kernels_impl.h'];
export const FLAGS = [
  '--target=wasm32', '-O3', '-std=c++17', '-msimd128', '-matomics', '-mbulk-memory', '-mmutable-globals',
  '-nostdlib', '-ffreestanding', '-fno-exceptions', '-fno-rtti',
  // Switch lookup tables would be static data: see the header.
  '-fno-jump-tables', '-Wall', '-Werror',
  '-Wl,--no-entry', '-Wl,--import-memory', '-Wl,--shared-memory', '-Wl,--max-memory=4294967296',
  '-Wl,--export=__stack_pointer',
];
const OUT = 'wasm/hetsplit-kernels.wasm';
const STAMP = 'wasm/hetsplit-kernels.json';

/** sha256 of the sources and flags: what the stamp records. */
export function sourceDigest() {
  const h = createHash('sha256');
  for (const s of SOURCES) h.update(s).update('\0').update(readFileSync(path.join(root, s))).update('\0');
  h.update(FLAGS.join(' '));
  return h.digest('hex');
}

function fail(msg) {
  console.error(`build:kernels: ${msg}`);
  process.exit(1);
}

function findClang() {
  for (const c of [process.env.CLANG, 'clang-14', 'clang', 'clang-15', 'clang-16']) {
    if (!c) continue;
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { bin: c, version: r.stdout.split('\n')[0] };
  }
  return null;
}

async function main() {
  // The loader's own check (no data segment, no start function) is the one the build applies.
  const loader = path.join(root, 'dist', 'backend', 'wasmkernels', 'load.js');
  if (!existsSync(loader)) fail('dist/ is missing: run `npm run build` first (the build checks the module with the loader)');
  const { compileKernelModule } = await import(pathToFileURL(loader).href);
  const clang = findClang();
  if (!clang) fail('no clang found (Debian: apt-get install clang-14 lld-14)');
  const tmp = path.join(root, `${OUT}.${process.pid}.tmp`);
  const r = spawnSync(clang.bin, [...FLAGS, '-o', tmp, path.join(root, SOURCES[0])], { encoding: 'utf8' });
  if (r.status !== 0) fail(`${clang.bin} failed:\n${r.stderr}`);
  const bytes = readFileSync(tmp);
  let mod;
  try {
    mod = compileKernelModule(tmp);
  } catch (e) {
    fail(`${e.message.split('\n')[0]}: it would write into the backend's heap`);
  }
  const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
  if (imports.join() !== 'env.hs_ctx:function,env.memory:memory') fail(`unexpected imports ${imports.join(', ')}`);
  renameSync(tmp, path.join(root, OUT));
  const stamp = {
    sources: sourceDigest(),
    compiler: clang.version,
    flags: FLAGS,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeFileSync(path.join(root, `${STAMP}.tmp`), `${JSON.stringify(stamp, null, 2)}\n`);
  renameSync(path.join(root, `${STAMP}.tmp`), path.join(root, STAMP));
  console.log(`build:kernels: ${OUT} (${bytes.length} bytes, ${clang.version})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
