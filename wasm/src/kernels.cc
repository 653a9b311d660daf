// hetsplit's own WebAssembly kernels: the native addon's kernels (native/src/kernels_impl.h,
// written once per vector width) compiled for wasm32 SIMD128, for machines without a C++
// compiler. Built by scripts/build-kernels.mjs (`npm run build:kernels`); the built
// wasm/hetsplit-kernels.wasm is committed.
//
// The module runs IN the TF.js WASM backend's memory: it imports the threaded backend's
// shared WebAssembly.Memory, so kernels read and write tensors where they lie, as the
// native addon does. That memory belongs to the backend's allocator, so this module must
// own no address of its own:
//   - no data, no bss, no libc (checked by the build: the module may have no data section);
//   - its shadow stack is a block the loader allocated with the backend's malloc, set
//     through the exported __stack_pointer of each instance (one instance per thread);
//   - everything shared (the thread pool's words, the scratch arena, the geometry) lives in
//     one control block the loader allocated; `hs_ctx()` (imported) returns its address.
// Kernel scratch comes from the arena by an atomic bump (reset at every call). A kernel
// that runs out returns 0 and the loader grows the arena and calls again.
//
// Threads: the calling thread is thread 0; each worker thread runs `hs_worker` on its own
// instance and sleeps in memory.atomic.wait32 between calls. A call hands the pool a
// function (a table index, the same in every instance of this module) and a context.
#define HS_FREESTANDING 1
typedef __SIZE_TYPE__ size_t;

namespace hetsplit {
struct Ctx;
}
extern "C" __attribute__((import_module("env"), import_name("hs_ctx"))) hetsplit::Ctx* hs_ctx();

#include "../../native/src/kernels.h"

namespace hetsplit {

// The control block. JS reads and writes the same words (src/backend/wasmkernels/layout.ts).
struct Ctx {
  int generation;   // 0: bumped by the caller for each parallel run
  int nthreads;     // 1: threads taking part (the caller and nthreads − 1 workers)
  int finished;     // 2: workers done with the current run
  int next;         // 3: next task index
  int ntasks;       // 4
  int error;        // 5: set by a worker's JS wrapper when its instance trapped
  void (*fn)(void*, int, int);  // 6
  void* arg;        // 7
  unsigned arenaUsed;  // 8: bytes handed out since the call began (may pass arenaCap)
  unsigned arenaCap;   // 9
  char* arena;      // 10: 64-byte aligned
  int pad[5];       // 11..15
  int geom[16];     // 16..31: the call's ConvGeom, as the native addon takes it
};

class Parallel {
 public:
  int threads() const { return hs_ctx()->nthreads; }
  void run(int n, void (*fn)(void*, int, int), void* arg);
};

static inline int atomicLoad(int* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

static void drain(Ctx* c, int thread) {
  for (;;) {
    int t = __atomic_fetch_add(&c->next, 1, __ATOMIC_SEQ_CST);
    if (t >= c->ntasks) return;
    c->fn(c->arg, t, thread);
  }
}

void Parallel::run(int n, void (*fn)(void*, int, int), void* arg) {
  Ctx* c = hs_ctx();
  if (n <= 0) return;
  const int workers = c->nthreads - 1;
  if (workers <= 0 || n == 1) {
    for (int t = 0; t < n; t++) fn(arg, t, 0);
    return;
  }
  c->fn = fn;
  c->arg = arg;
  c->ntasks = n;
  __atomic_store_n(&c->next, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&c->finished, 0, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&c->generation, 1, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&c->generation, (unsigned)workers);
  drain(c, 0);
  // Every worker checks out of this run before the next one may start.
  for (int f; (f = atomicLoad(&c->finished)) < workers;) __builtin_wasm_memory_atomic_wait32(&c->finished, f, -1);
}

}  // namespace hetsplit

// The scratch arena: the kernels' malloc / aligned_alloc / free.
static void* arenaAlloc(size_t bytes) {
  hetsplit::Ctx* c = hs_ctx();
  unsigned size = (unsigned)((bytes + 63) & ~(size_t)63);
  if (size == 0) size = 64;
  unsigned off = __atomic_fetch_add(&c->arenaUsed, size, __ATOMIC_SEQ_CST);
  if (off > c->arenaCap || size > c->arenaCap - off) return 0;
  return c->arena + off;
}
static inline void* malloc(size_t bytes) { return arenaAlloc(bytes); }
static inline void* aligned_alloc(size_t, size_t bytes) { return arenaAlloc(bytes); }
static inline void free(void*) {}

#define HS_NS simd128
#define HS_VLEN 4
#define HS_MAXACC 12
#define HS_NVMAX 2
#define HS_ISA_NAME "simd128"
#include "../../native/src/kernels_impl.h"

using namespace hetsplit;

static ConvGeom geometry() {
  const int* a = hs_ctx()->geom;
  ConvGeom g;
  g.b = a[0]; g.h = a[1]; g.w = a[2]; g.ci = a[3];
  g.kh = a[4]; g.kw = a[5]; g.co = a[6];
  g.oh = a[7]; g.ow = a[8];
  g.sh = a[9]; g.sw = a[10]; g.dh = a[11]; g.dw = a[12];
  g.pt = a[13]; g.pl = a[14];
  return g;
}

static void beginCall() { __atomic_store_n(&hs_ctx()->arenaUsed, 0u, __ATOMIC_SEQ_CST); }

// Each export returns 1 when done, 0 when the arena was too small (see arenaUsed).
#define HS_EXPORT(name) extern "C" __attribute__((export_name(#name))) int name

#define HS_CONV_EXPORT(name, fn)                                  \
  HS_EXPORT(name)(const float* a, const float* b, float* out) {   \
    beginCall();                                                  \
    ConvGeom g = geometry();                                      \
    Parallel par;                                                 \
    return simd128::fn(g, a, b, out, par) ? 1 : 0;                \
  }

HS_CONV_EXPORT(hs_conv2d, conv2d)
HS_CONV_EXPORT(hs_conv2d_backprop_input, conv2dBackpropInput)
HS_CONV_EXPORT(hs_conv2d_backprop_filter, conv2dBackpropFilter)
HS_CONV_EXPORT(hs_depthwise, depthwise)
HS_CONV_EXPORT(hs_depthwise_backprop_input, depthwiseBackpropInput)
HS_CONV_EXPORT(hs_depthwise_backprop_filter, depthwiseBackpropFilter)

HS_EXPORT(hs_batchnorm_forward)(const float* x, const float* gamma, const float* beta, int rows, int C, float eps,
                                float* y, float* stats) {
  beginCall();
  Parallel par;
  return simd128::batchNormForward(x, gamma, beta, rows, C, eps, y, stats, par) ? 1 : 0;
}

HS_EXPORT(hs_batchnorm_backward)(const float* dy, const float* x, const float* gamma, const float* stats, int rows,
                                 int C, float* dx, float* grads) {
  beginCall();
  Parallel par;
  return simd128::batchNormBackward(dy, x, gamma, stats, rows, C, dx, grads, par) ? 1 : 0;
}

HS_EXPORT(hs_pact_forward)(const float* x, int n, float s, float a, float* y) {
  beginCall();
  Parallel par;
  return simd128::pactForward(x, n, s, a, y, par) ? 1 : 0;
}

// dclip is written to *dclip.
HS_EXPORT(hs_pact_backward)(const float* dy, const float* x, int n, float a, float* dx, float* dclip) {
  beginCall();
  Parallel par;
  return simd128::pactBackward(dy, x, n, a, dx, dclip, par) ? 1 : 0;
}

// A worker's loop: never returns (its JS wrapper re-enters it after a trap, with `seen` the
// run it trapped in, so that run is not taken again).
HS_EXPORT(hs_worker)(int thread, int seen) {
  Ctx* c = hs_ctx();
  for (;;) {
    int g;
    while ((g = atomicLoad(&c->generation)) == seen) __builtin_wasm_memory_atomic_wait32(&c->generation, seen, -1);
    seen = g;
    drain(c, thread);
    __atomic_fetch_add(&c->finished, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify(&c->finished, 1);
  }
  return 0;
}

static_assert(__builtin_offsetof(Ctx, fn) == 6 * 4, "Ctx layout: see layout.ts");
static_assert(__builtin_offsetof(Ctx, arena) == 10 * 4, "Ctx layout: see layout.ts");
static_assert(__builtin_offsetof(Ctx, geom) == 16 * 4, "Ctx layout: see layout.ts");
static_assert(sizeof(Ctx) == 32 * 4, "Ctx layout: see layout.ts");
