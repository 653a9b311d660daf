#!/usr/bin/env node
/**
 * Builds hetsplit's native kernels (native/) with node-gyp, offline: npm's own bundled
 * node-gyp and the Node headers already on the machine (npm's `nodedir`, else the ones
 * installed beside this node binary). Run by `npm install` and `npm run build:native`.
 *
 * Never fails the install: without a compiler or headers it prints one line saying why
 * and exits 0, and hetsplit uses the WebAssembly kernels (the engine line says so).
 * HETSPLIT_SKIP_NATIVE=1 skips the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const strict = process.argv.includes('--strict');

function done(ok, why) {
  if (ok) {
    console.log('hetsplit: native kernels built (native/build/Release/hetsplit_native.node)');
  } else {
    console.log(`hetsplit: native kernels not built: ${why}; the WebAssembly kernels will be used`);
  }
  process.exit(ok || !strict ? 0 : 1);
}

if (process.env.HETSPLIT_SKIP_NATIVE === '1') done(false, 'HETSPLIT_SKIP_NATIVE=1');

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c));
}

function findNodeDir() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm && existsSync(path.join(fromNpm, 'include', 'node', 'node_api.h'))) return fromNpm;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return null;
}

const gyp = findNodeGyp();
if (!gyp) done(false, "npm's node-gyp was not found");
const nodedir = findNodeDir();
// Without local headers node-gyp would try to download them: refuse rather than hang offline.
if (!nodedir) done(false, `no Node headers (include/node/node_api.h) beside ${process.execPath}`);

const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--directory', nativeDir], {
  encoding: 'utf8', env: { ...process.env, npm_config_nodedir: nodedir },
});
mkdirSync(path.join(nativeDir, 'build'), { recursive: true });
writeFileSync(path.join(nativeDir, 'build', 'build.log'), `${r.stdout ?? ''}${r.stderr ?? ''}`);
if (r.error) done(false, r.error.message);
if (r.status !== 0) {
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n');
  const err = lines.find((l) => /error|not found|command not found/i.test(l) && !/^gyp info/.test(l)) ?? `node-gyp exited with ${r.status}`;
  done(false, `${err.trim()} (full log: native/build/build.log)`);
}
done(true);
