/**
 * The native addon's install never fails the project's install, and the engine falls back
 * to hetsplit's WebAssembly kernels (saying why) when the addon is absent, and to TF.js's
 * own kernels where those cannot run either (the single-thread WASM build).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hetsplit-native-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm install builds the native kernels or says why not', () => {
  it('without a working compiler: one line, exit 0, no addon', () => {
    cpSync(path.join(root, 'scripts'), path.join(tmp, 'scripts'), { recursive: true });
    cpSync(path.join(root, 'native', 'src'), path.join(tmp, 'native', 'src'), { recursive: true });
    cpSync(path.join(root, 'native', 'binding.gyp'), path.join(tmp, 'native', 'binding.gyp'));
    const r = spawnSync(process.execPath, [path.join(tmp, 'scripts', 'build-native.mjs')], {
      encoding: 'utf8', env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^hetsplit: native kernels not built: .+; the WebAssembly kernels will be used$/);
    expect(existsSync(path.join(tmp, 'native', 'build', 'Release', 'hetsplit_native.node'))).toBe(false);
    // --strict (npm run build:native) reports the failure as an exit status.
    const s = spawnSync(process.execPath, [path.join(tmp, 'scripts', 'build-native.mjs'), '--strict'], {
      encoding: 'utf8', env: { ...process.env, CXX: '/bin/false', CC: '/bin/false' },
    });
    expect(s.status).toBe(1);
  }, 120_000);
});

describe('the engine without the addon', () => {
  const main = path.join(root, 'dist', 'cli', 'main.js');
  const env = { ...process.env, HETSPLIT_NATIVE_ADDON: path.join(tmp, 'absent.node'), HETSPLIT_THREADS: '2' };
  it('auto: hetsplit\'s WebAssembly kernels, and the reason once', () => {
    const r = spawnSync(process.execPath, [main, 'engine'], { encoding: 'utf8', env });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/kernels wasm simd128\)/);
    expect(r.stdout).toMatch(/native kernels not built \(no .*absent\.node/);
  }, 60_000);
  it('auto on one thread (the single-thread WASM build): TF.js\'s kernels, and both reasons', () => {
    const r = spawnSync(process.execPath, [main, 'engine'], { encoding: 'utf8', env: { ...env, HETSPLIT_THREADS: '1' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/kernels tfjs\)/);
    expect(r.stdout).toMatch(/native kernels not built/);
    expect(r.stdout).toMatch(/wasm kernels need the threaded WASM engine/);
  }, 60_000);
  it('--kernels wasm on one thread: one clear line, exit 2', () => {
    const r = spawnSync(process.execPath, [main, 'engine', '--kernels', 'wasm'], { encoding: 'utf8', env: { ...env, HETSPLIT_THREADS: '1' } });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--kernels wasm: hetsplit wasm kernels need the threaded WASM engine/);
  }, 60_000);
  it('--kernels native: one clear line, exit 2', () => {
    const r = spawnSync(process.execPath, [main, 'engine', '--kernels', 'native'], { encoding: 'utf8', env });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--kernels native: native kernels not built/);
  }, 60_000);
});
