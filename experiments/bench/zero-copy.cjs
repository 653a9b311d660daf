// Zero-copy vs copied operands for the native conv: node experiments/bench/zero-copy.cjs
const m = require(require('node:path').resolve(__dirname, '../../native/build/Release/hetsplit_native.node'));
m.configure({threads: 2});
const mem = new WebAssembly.Memory({initial: 2000, maximum: 4000, shared: true});
const n = 128*32*32*16, heap = new Float32Array(mem.buffer);
const x = heap.subarray(0, n), y = heap.subarray(n, 2*n), w = heap.subarray(2*n, 2*n + 9*16*16);
for (let i = 0; i < n; i++) x[i] = Math.random();
const G = Int32Array.from([128,32,32,16,3,3,16,32,32,1,1,1,1,1,1]);
const xc = new Float32Array(n), yc = new Float32Array(n), wc = new Float32Array(9*256);
const t = (f) => { f(); const k = 10, t0 = process.hrtime.bigint(); for (let i = 0; i < k; i++) f(); return Number(process.hrtime.bigint() - t0) / 1e6 / k; };
const inPlace = t(() => m.conv2d(x, w, y, G));
const copied = t(() => { xc.set(x); wc.set(w); m.conv2d(xc, wc, yc, G); y.set(yc); });
const copyOnly = t(() => { xc.set(x); y.set(yc); });
console.log(JSON.stringify({ tensorMB: n*4/2**20, inPlaceMs: inPlace.toFixed(2), withCopiesMs: copied.toFixed(2), copiesMs: copyOnly.toFixed(2) }));
