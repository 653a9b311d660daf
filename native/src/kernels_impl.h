// The kernels, written once for a vector width. Each ISA translation unit includes this
// after `#pragma GCC target(...)` with:
//   HS_NS      its namespace (avx512, avx2, base)
//   HS_VLEN    floats per vector (16, 8, 4)
//   HS_MAXACC  vector accumulators a micro-kernel may hold (24 of 32 zmm, 12 of 16 ymm/xmm)
//   HS_NVMAX   most vectors of output columns per micro-kernel
// It must not include any header: see kernels.h. The WebAssembly build (wasm/src/kernels.cc)
// also includes it, with HS_FREESTANDING: no libc, no static data, its own Parallel, and
// malloc/aligned_alloc/free from a per-call arena.
//
// Convolution forward and input gradient are INDIRECT GEMMs (as XNNPACK's igemm): for a
// tile of MR output rows, a table of MR pointers per filter tap points at the input rows
// they read (or at a zero row where the tap falls in the padding), and the micro-kernel
//   C[MR x NR] = sum over taps t, channels k: A_t[i][k] * B[t][k][0..NR)
// keeps C in registers for the whole reduction. No im2col is materialised; B (the filter)
// is packed once per call into NR-wide column panels. The input gradient is the same
// igemm over dy with the filter transposed per tap, its rows grouped by stride phase so
// that only the taps that reach a phase are visited (no multiplications by zero-stuffing).
// The filter gradient reduces over pixels with C[ci-block][co-block] in registers:
//   dW[t][ci][co] = sum over pixels p of x_t[p][ci] * dy[p][co]
// both operands read in place (x_t[p][ci..] is contiguous in NHWC, as is dy[p][co..]).

namespace hetsplit {
namespace HS_NS {

typedef float vf __attribute__((vector_size(HS_VLEN * 4)));
static const int VL = HS_VLEN;

static inline vf vload(const float* p) { vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
static inline void vstore(float* p, vf v) { __builtin_memcpy(p, &v, sizeof v); }
#if HS_VLEN == 16
static inline vf vsplat(float s) { return vf{s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }
#elif HS_VLEN == 8
static inline vf vsplat(float s) { return vf{s, s, s, s, s, s, s, s}; }
#else
static inline vf vsplat(float s) { return vf{s, s, s, s}; }
#endif
static inline vf vzero() { vf z = {}; return z; }

static inline int ceilDiv(int a, int b) { return (a + b - 1) / b; }
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

// 64-byte aligned float buffer, zeroed.
static float* allocFloats(long n) {
  long bytes = ((n * 4 + 63) / 64) * 64;
  if (bytes == 0) bytes = 64;
  float* p = (float*)aligned_alloc(64, (size_t)bytes);
  if (p) __builtin_memset(p, 0, (size_t)bytes);
  return p;
}

// ---------------------------------------------------------------------------------------
// Indirect GEMM micro-kernel.
//   a[t*MR + i]: row i's pointer for the t-th visited tap (kc floats)
//   taps[t]:     the packed tap that B panel index to use
//   bp:          this column block's panel, [tap][kc][NR]
//   c[i]:        row i's output (null for a padding row); ncols ≤ NR valid columns
template <int MR, int NV>
static void igemmTile(int ntaps, const float* const* a, const int* taps, int kc, const float* bp,
                      float* const* c, int ncols) {
  const int NR = NV * VL;
  vf acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) acc[i][j] = vzero();
  for (int t = 0; t < ntaps; t++) {
    const float* ap[MR];
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) ap[i] = a[t * MR + i];
    const float* b = bp + (long)taps[t] * kc * NR;
    for (int k = 0; k < kc; k++, b += NR) {
      vf bv[NV];
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++) bv[j] = vload(b + j * VL);
#pragma GCC unroll 32
      for (int i = 0; i < MR; i++) {
        vf av = vsplat(ap[i][k]);
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) acc[i][j] += av * bv[j];
      }
    }
  }
  if (ncols == NR) {
#pragma GCC unroll 32
    for (int i = 0; i < MR; i++) {
      if (!c[i]) continue;
#pragma GCC unroll 8
      for (int j = 0; j < NV; j++) vstore(c[i] + j * VL, acc[i][j]);
    }
  } else {
    for (int i = 0; i < MR; i++) {
      if (!c[i]) continue;
      float tmp[NV * HS_VLEN];
      for (int j = 0; j < NV; j++) vstore(tmp + j * VL, acc[i][j]);
      for (int n = 0; n < ncols; n++) c[i][n] = tmp[n];
    }
  }
}

typedef void (*IgemmFn)(int, const float* const*, const int*, int, const float*, float* const*, int);

struct IgemmShape {
  int mr, nv;
  IgemmFn fn;
};

// The micro-kernel for n output columns: as many vectors as fit (≤ HS_NVMAX), and as many
// rows as the accumulator budget allows.
static IgemmShape igemmShape(int n) {
  int nv = imin(HS_NVMAX, ceilDiv(n, VL));
#if HS_MAXACC >= 24
  if (nv == 1) return {8, 1, igemmTile<8, 1>};
  if (nv == 2) return {8, 2, igemmTile<8, 2>};
  if (nv == 3) return {8, 3, igemmTile<8, 3>};
  return {6, 4, igemmTile<6, 4>};
#else
  if (nv == 1) return {8, 1, igemmTile<8, 1>};
  return {6, 2, igemmTile<6, 2>};
#endif
}

// Packs per-tap matrices into column panels [nb][taps][kc][NR], zero-padded past n.
//   transposed = false: src is [taps][kc][n]     (forward: HWIO with kc = ci, n = co)
//   transposed = true:  src is [taps][n][kc]     (input gradient: HWIO with n = ci, kc = co)
static float* packPanels(const float* src, int taps, int kc, int n, int nr, bool transposed) {
  int nb = ceilDiv(n, nr);
  float* p = allocFloats((long)nb * taps * kc * nr);
  if (!p) return 0;
  for (int cb = 0; cb < nb; cb++)
    for (int t = 0; t < taps; t++)
      for (int k = 0; k < kc; k++) {
        float* dst = p + (((long)cb * taps + t) * kc + k) * nr;
        for (int j = 0; j < nr; j++) {
          int col = cb * nr + j;
          if (col >= n) break;
          dst[j] = transposed ? src[((long)t * n + col) * kc + k] : src[((long)t * kc + k) * n + col];
        }
      }
  return p;
}

// Per-task scratch: pointer tables for one tile.
struct TileScratch {
  const float** a;
  float** c;
  float** cb;
  int* taps;
  int* base;  // per row: image, first row, first column (−1 image: a padding row)
};

static bool allocScratch(TileScratch& s, int taps, int mr) {
  s.a = (const float**)malloc(sizeof(void*) * (size_t)taps * mr);
  s.c = (float**)malloc(sizeof(void*) * (size_t)mr);
  s.cb = (float**)malloc(sizeof(void*) * (size_t)mr);
  s.taps = (int*)malloc(sizeof(int) * (size_t)taps);
  s.base = (int*)malloc(sizeof(int) * 3 * (size_t)mr);
  return s.a && s.c && s.cb && s.taps && s.base;
}

static void freeScratch(TileScratch& s) {
  free(s.a); free(s.c); free(s.cb); free(s.taps); free(s.base);
}

// One tile's micro-kernel calls, one per column block of the n output columns: the row
// pointers s.c shifted to the block, B the block's panel ([taps][kc][NR]).
static void igemmColumns(const IgemmShape& shape, TileScratch& s, int nt, int kc, const float* bp, int taps, int n) {
  const int MR = shape.mr, NR = shape.nv * VL;
  for (int cb = 0; cb < ceilDiv(n, NR); cb++) {
    for (int i = 0; i < MR; i++) s.cb[i] = s.c[i] ? s.c[i] + cb * NR : 0;
    shape.fn(nt, s.a, s.taps, kc, bp + (long)cb * taps * kc * NR, s.cb, imin(NR, n - cb * NR));
  }
}

// Tasks are runs of consecutive tiles: enough of them to balance threads.
static int tilesPerTask(int tiles, int threads) {
  int tasks = threads <= 1 ? 1 : threads * 8;
  return imax(1, ceilDiv(tiles, tasks));
}

// On small maps most pixels sit on the border, where padding makes some taps read zeros. Rows
// are then ordered position-major (pixel (y, x) of every image, then the next pixel), so a
// tile's rows share their in-bounds taps and the padded ones are skipped, instead of
// multiplying zero rows (2x2 maps, 3x3 'same': 4 taps of 9 in-bounds for every pixel).
static const int kPositionMajorPixels = 64;

// ---------------------------------------------------------------------------------------
// Conv2D forward.
struct FwdCtx {
  const ConvGeom* g;
  const float* x;
  float* y;
  const float* bp;
  const float* zeros;
  IgemmShape shape;
  int tiles, perTask;
  bool positionMajor;
  bool failed;
};

static void fwdTask(void* vctx, int task, int /*thread*/) {
  FwdCtx& C = *(FwdCtx*)vctx;
  const ConvGeom& g = *C.g;
  const int MR = C.shape.mr, T = g.kh * g.kw;
  const long M = (long)g.b * g.oh * g.ow;
  TileScratch s;
  if (!allocScratch(s, T, MR)) { C.failed = true; freeScratch(s); return; }
  int t0 = task * C.perTask, t1 = imin(C.tiles, t0 + C.perTask);
  for (int tile = t0; tile < t1; tile++) {
    long m0 = (long)tile * MR;
    for (int i = 0; i < MR; i++) {
      long m = m0 + i;
      if (m < M) {
        int bi = C.positionMajor ? (int)(m % g.b) : (int)(m / ((long)g.oh * g.ow));
        int r = C.positionMajor ? (int)(m / g.b) : (int)(m % ((long)g.oh * g.ow));
        int oy = r / g.ow, ox = r % g.ow;
        s.c[i] = C.y + ((long)bi * g.oh * g.ow + r) * g.co;
        s.base[3 * i] = bi;
        s.base[3 * i + 1] = oy * g.sh - g.pt;
        s.base[3 * i + 2] = ox * g.sw - g.pl;
      } else {
        s.c[i] = 0;
        s.base[3 * i] = -1;
      }
    }
    int nt = 0;
    for (int ky = 0; ky < g.kh; ky++)
      for (int kx = 0; kx < g.kw; kx++) {
        const float** row = s.a + (long)nt * MR;
        bool any = false;
        for (int i = 0; i < MR; i++) {
          int bi = s.base[3 * i];
          int iy = s.base[3 * i + 1] + ky * g.dh, ix = s.base[3 * i + 2] + kx * g.dw;
          if (bi >= 0 && iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) {
            row[i] = C.x + (((long)bi * g.h + iy) * g.w + ix) * g.ci;
            any = true;
          } else {
            row[i] = C.zeros;
          }
        }
        if (any) s.taps[nt++] = ky * g.kw + kx;
      }
    igemmColumns(C.shape, s, nt, g.ci, C.bp, T, g.co);
  }
  freeScratch(s);
}

static bool conv2d(const ConvGeom& g, const float* x, const float* w, float* y, Parallel& par) {
  FwdCtx C;
  C.g = &g; C.x = x; C.y = y; C.failed = false;
  C.positionMajor = (long)g.oh * g.ow <= kPositionMajorPixels;
  C.shape = igemmShape(g.co);
  const int NR = C.shape.nv * VL, T = g.kh * g.kw;
  float* bp = packPanels(w, T, g.ci, g.co, NR, false);
  float* zeros = allocFloats(g.ci);
  long M = (long)g.b * g.oh * g.ow;
  C.bp = bp; C.zeros = zeros;
  C.tiles = (int)ceilDiv((int)M, C.shape.mr);
  C.perTask = tilesPerTask(C.tiles, par.threads());
  bool ok = bp && zeros;
  if (ok && M > 0) par.run(ceilDiv(C.tiles, C.perTask), fwdTask, &C);
  free(bp); free(zeros);
  return ok && !C.failed;
}

// ---------------------------------------------------------------------------------------
// Conv2DBackpropInput: dx = transposed convolution of dy. Rows are input pixels grouped
// by stride phase (ih mod sh, iw mod sw); a phase is reached only by the taps with
// (phase + pad − tap·dilation) ≡ 0 (mod stride).
struct BinCtx {
  const ConvGeom* g;
  const float* dy;
  float* dx;
  const float* bp;
  const float* zeros;
  IgemmShape shape;
  int nphases;
  int phaseTiles[64 + 1];  // prefix sums of tiles per phase (sh·sw ≤ 64)
  int tiles, perTask;
  bool positionMajor;
  bool failed;
};

static inline int pmod(int a, int m) { int r = a % m; return r < 0 ? r + m : r; }

static void binTask(void* vctx, int task, int /*thread*/) {
  BinCtx& C = *(BinCtx*)vctx;
  const ConvGeom& g = *C.g;
  const int MR = C.shape.mr, T = g.kh * g.kw;
  TileScratch s;
  if (!allocScratch(s, T, MR)) { C.failed = true; freeScratch(s); return; }
  int t0 = task * C.perTask, t1 = imin(C.tiles, t0 + C.perTask);
  int phase = 0;
  for (int tile = t0; tile < t1; tile++) {
    while (tile >= C.phaseTiles[phase + 1]) phase++;
    int ph = phase / g.sw, pw = phase % g.sw;
    int nu = ceilDiv(g.h - ph, g.sh), nv = ceilDiv(g.w - pw, g.sw);
    long rows = (long)g.b * nu * nv;
    long r0 = (long)(tile - C.phaseTiles[phase]) * MR;
    for (int i = 0; i < MR; i++) {
      long r = r0 + i;
      if (r < rows) {
        int bi = C.positionMajor ? (int)(r % g.b) : (int)(r / ((long)nu * nv));
        int q = C.positionMajor ? (int)(r / g.b) : (int)(r % ((long)nu * nv));
        int ih = ph + g.sh * (q / nv), iw = pw + g.sw * (q % nv);
        s.c[i] = C.dx + (((long)bi * g.h + ih) * g.w + iw) * g.ci;
        s.base[3 * i] = bi;
        s.base[3 * i + 1] = ih + g.pt;
        s.base[3 * i + 2] = iw + g.pl;
      } else {
        s.c[i] = 0;
        s.base[3 * i] = -1;
      }
    }
    int nt = 0;
    for (int ky = 0; ky < g.kh; ky++) {
      if (pmod(ph + g.pt - ky * g.dh, g.sh) != 0) continue;
      for (int kx = 0; kx < g.kw; kx++) {
        if (pmod(pw + g.pl - kx * g.dw, g.sw) != 0) continue;
        const float** row = s.a + (long)nt * MR;
        bool any = false;
        for (int i = 0; i < MR; i++) {
          int bi = s.base[3 * i];
          int ny = s.base[3 * i + 1] - ky * g.dh, nx = s.base[3 * i + 2] - kx * g.dw;
          // ny, nx are multiples of the stride here; negative means above/left of dy.
          int oy = ny >= 0 ? ny / g.sh : -1, ox = nx >= 0 ? nx / g.sw : -1;
          if (bi >= 0 && oy >= 0 && oy < g.oh && ox >= 0 && ox < g.ow) {
            row[i] = C.dy + (((long)bi * g.oh + oy) * g.ow + ox) * g.co;
            any = true;
          } else {
            row[i] = C.zeros;
          }
        }
        if (any) s.taps[nt++] = ky * g.kw + kx;
      }
    }
    igemmColumns(C.shape, s, nt, g.co, C.bp, T, g.ci);
  }
  freeScratch(s);
}

static bool conv2dBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx, Parallel& par) {
  BinCtx C;
  C.g = &g; C.dy = dy; C.dx = dx; C.failed = false;
  C.positionMajor = (long)g.h * g.w <= kPositionMajorPixels;
  C.shape = igemmShape(g.ci);
  const int NR = C.shape.nv * VL, T = g.kh * g.kw;
  C.nphases = g.sh * g.sw;
  if (C.nphases > 64) return false;  // the glue refuses such strides before calling
  C.phaseTiles[0] = 0;
  for (int p = 0; p < C.nphases; p++) {
    int ph = p / g.sw, pw = p % g.sw;
    long rows = (ph < g.h && pw < g.w) ? (long)g.b * ceilDiv(g.h - ph, g.sh) * ceilDiv(g.w - pw, g.sw) : 0;
    C.phaseTiles[p + 1] = C.phaseTiles[p] + (int)ceilDiv((int)rows, C.shape.mr);
  }
  C.tiles = C.phaseTiles[C.nphases];
  C.perTask = tilesPerTask(C.tiles, par.threads());
  float* bp = packPanels(w, T, g.co, g.ci, NR, true);
  float* zeros = allocFloats(g.co);
  C.bp = bp; C.zeros = zeros;
  bool ok = bp && zeros;
  if (ok && C.tiles > 0) par.run(ceilDiv(C.tiles, C.perTask), binTask, &C);
  free(bp); free(zeros);
  return ok && !C.failed;
}

// ---------------------------------------------------------------------------------------
// Conv2DBackpropFilter. The micro-kernel reduces over a 2-D block of pixels (rows × cols)
// of `nimg` images (image strides ximg / dyimg) with acc[MR ci][NV co-vectors] in registers,
// then adds into out (row stride ldo).
template <int MR, int NV>
static void wgradBlock(int nimg, long ximg, long dyimg, int rows, int cols, const float* x, long xrow, long xcol,
                       const float* dy, long dyrow, long dycol, float* out, int ldo) {
  vf acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) acc[i][j] = vzero();
  for (int n = 0; n < nimg; n++)
    for (int r = 0; r < rows; r++) {
      const float* xp = x + n * ximg + r * xrow;
      const float* dp = dy + n * dyimg + r * dyrow;
      for (int q = 0; q < cols; q++, xp += xcol, dp += dycol) {
        vf bv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++) bv[j] = vload(dp + j * VL);
#pragma GCC unroll 32
        for (int i = 0; i < MR; i++) {
          vf av = vsplat(xp[i]);
#pragma GCC unroll 8
          for (int j = 0; j < NV; j++) acc[i][j] += av * bv[j];
        }
      }
    }
#pragma GCC unroll 32
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int j = 0; j < NV; j++) vstore(out + i * ldo + j * VL, vload(out + i * ldo + j * VL) + acc[i][j]);
}

typedef void (*WgradFn)(int, long, long, int, int, const float*, long, long, const float*, long, long, float*, int);

template <int NV>
static WgradFn wgradPick(int mr) {
  switch (mr) {
    case 16: return wgradBlock<16, NV>;
    case 12: return wgradBlock<12, NV>;
    case 8: return wgradBlock<8, NV>;
    case 6: return wgradBlock<6, NV>;
    case 4: return wgradBlock<4, NV>;
    case 3: return wgradBlock<3, NV>;
    case 2: return wgradBlock<2, NV>;
    default: return wgradBlock<1, NV>;
  }
}

static WgradFn wgradFn(int mr, int nv) {
  switch (nv) {
    case 1: return wgradPick<1>(mr);
    case 2: return wgradPick<2>(mr);
#if HS_NVMAX >= 4
    case 3: return wgradPick<3>(mr);
    case 4: return wgradPick<4>(mr);
#endif
    default: return wgradPick<1>(mr);
  }
}

// The widest ci block ≤ left whose accumulators (mr × nv) fit the register budget.
static int wgradRows(int left, int nv) {
  // 16, 12, 8, 6, 4, 3, 2, 1 (computed, not tabled: the WebAssembly build has no data).
  for (int m = 16; m > 1; m = m > 8 ? m - 4 : m > 4 ? m - 2 : m - 1)
    if (m <= left && m * nv <= HS_MAXACC) return m;
  return 1;
}

// Images are dealt to `nparts` partial sums in fixed contiguous chunks (chunk p → partial
// p, whichever thread runs it) and the partials are summed in order: the result depends
// neither on thread timing nor on the thread count, so seeded runs repeat exactly.
static const int kWgradParts = 8;
struct WgradCtx {
  const ConvGeom* g;
  const float* x;
  const float* dy;
  float** partial;  // per chunk [T][ci][co]
  int nparts;
};

static inline int chunkStart(int n, int parts, int p) { return (int)((long)n * p / parts); }

// The pixel range of dy a tap reads in-bounds input for: oy with 0 ≤ oy·s − p + k·d < n.
static void validRange(int n, int on, int s, int p, int kd, int* lo, int* hi) {
  // oy·s ≥ p − kd  and  oy·s ≤ n − 1 + p − kd
  int a = p - kd, b = n - 1 + p - kd;
  int l = a <= 0 ? 0 : ceilDiv(a, s);
  int h = b < 0 ? -1 : b / s;
  *lo = imax(0, l);
  *hi = imin(on - 1, h) + 1;
}

static void wgradImage(WgradCtx& C, int bi, float* part) {
  const ConvGeom& g = *C.g;
  const int coFull = (g.co / VL) * VL;
  for (int ky = 0; ky < g.kh; ky++) {
    int oy0, oy1;
    validRange(g.h, g.oh, g.sh, g.pt, ky * g.dh, &oy0, &oy1);
    if (oy0 >= oy1) continue;
    for (int kx = 0; kx < g.kw; kx++) {
      int ox0, ox1;
      validRange(g.w, g.ow, g.sw, g.pl, kx * g.dw, &ox0, &ox1);
      if (ox0 >= ox1) continue;
      int iy0 = oy0 * g.sh - g.pt + ky * g.dh, ix0 = ox0 * g.sw - g.pl + kx * g.dw;
      const float* xb = C.x + (((long)bi * g.h + iy0) * g.w + ix0) * g.ci;
      const float* db = C.dy + (((long)bi * g.oh + oy0) * g.ow + ox0) * g.co;
      long xrow = (long)g.sh * g.w * g.ci, xcol = (long)g.sw * g.ci;
      long drow = (long)g.ow * g.co, dcol = g.co;
      float* outT = part + (long)(ky * g.kw + kx) * g.ci * g.co;
      int rows = oy1 - oy0, cols = ox1 - ox0;
      for (int co0 = 0; co0 < coFull;) {
        int nv = imin(HS_NVMAX, (coFull - co0) / VL);
        for (int ci0 = 0; ci0 < g.ci;) {
          int mr = wgradRows(g.ci - ci0, nv);
          wgradFn(mr, nv)(1, 0, 0, rows, cols, xb + ci0, xrow, xcol, db + co0, drow, dcol, outT + (long)ci0 * g.co + co0, g.co);
          ci0 += mr;
        }
        co0 += nv * VL;
      }
      // Columns past the last whole vector: plain loops.
      for (int co = coFull; co < g.co; co++)
        for (int ci = 0; ci < g.ci; ci++) {
          float sum = 0;
          for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) sum += xb[r * xrow + q * xcol + ci] * db[r * drow + q * dcol + co];
          outT[(long)ci * g.co + co] += sum;
        }
    }
  }
}

static void wgradTask(void* vctx, int p, int /*thread*/) {
  WgradCtx& C = *(WgradCtx*)vctx;
  for (int bi = chunkStart(C.g->b, C.nparts, p); bi < chunkStart(C.g->b, C.nparts, p + 1); bi++) wgradImage(C, bi, C.partial[p]);
}

struct SumCtx {
  float** partial;
  int nparts;
  float* out;
  long n, chunk;
};

static void sumTask(void* vctx, int task, int /*thread*/) {
  SumCtx& C = *(SumCtx*)vctx;
  long a = (long)task * C.chunk, b = a + C.chunk < C.n ? a + C.chunk : C.n;
  for (long i = a; i < b; i++) {
    float s = 0;
    for (int p = 0; p < C.nparts; p++) s += C.partial[p][i];
    C.out[i] = s;
  }
}

// Sums per-thread partial buffers of n floats into out.
static void reducePartials(float** partial, int nparts, float* out, long n, Parallel& par) {
  SumCtx S;
  S.partial = partial; S.nparts = nparts; S.out = out; S.n = n;
  int tasks = par.threads() > 1 && n > 65536 ? par.threads() : 1;
  S.chunk = (n + tasks - 1) / tasks;
  par.run(tasks, sumTask, &S);
}

// Output-stationary filter gradient, for layers with few pixels per image (deep layers):
// there the per-image partial sums above would re-read and re-write the whole filter for a
// handful of pixels. Instead each task owns one tap's block of output columns and reduces
// over every image in registers, writing each dW element once. The sum order is fixed, so
// results do not depend on the thread count either.
struct WgradOsCtx {
  const ConvGeom* g;
  const float* x;
  const float* dy;
  float* dw;
  int blocks;  // column blocks per tap (the last one may be the scalar tail)
};

static void wgradOsTask(void* vctx, int task, int /*thread*/) {
  WgradOsCtx& C = *(WgradOsCtx*)vctx;
  const ConvGeom& g = *C.g;
  const int coFull = (g.co / VL) * VL, BW = HS_NVMAX * VL;
  const int tap = task / C.blocks, blk = task % C.blocks, fullBlocks = ceilDiv(coFull, BW);
  const int ky = tap / g.kw, kx = tap % g.kw;
  // Blocks of up to HS_NVMAX whole vectors, then one scalar block for the columns past them.
  const int co0 = blk < fullBlocks ? blk * BW : coFull, co1 = blk < fullBlocks ? imin(coFull, co0 + BW) : g.co;
  float* outT = C.dw + (long)tap * g.ci * g.co;
  for (int ci = 0; ci < g.ci; ci++)
    for (int co = co0; co < co1; co++) outT[(long)ci * g.co + co] = 0;
  int oy0, oy1, ox0, ox1;
  validRange(g.h, g.oh, g.sh, g.pt, ky * g.dh, &oy0, &oy1);
  validRange(g.w, g.ow, g.sw, g.pl, kx * g.dw, &ox0, &ox1);
  if (oy0 >= oy1 || ox0 >= ox1) return;
  const int iy0 = oy0 * g.sh - g.pt + ky * g.dh, ix0 = ox0 * g.sw - g.pl + kx * g.dw;
  const float* xb = C.x + ((long)iy0 * g.w + ix0) * g.ci;
  const float* db = C.dy + ((long)oy0 * g.ow + ox0) * g.co;
  const long ximg = (long)g.h * g.w * g.ci, dyimg = (long)g.oh * g.ow * g.co;
  const long xrow = (long)g.sh * g.w * g.ci, xcol = (long)g.sw * g.ci, drow = (long)g.ow * g.co, dcol = g.co;
  const int rows = oy1 - oy0, cols = ox1 - ox0;
  if (blk < fullBlocks) {
    const int nv = (co1 - co0) / VL;
    for (int ci0 = 0; ci0 < g.ci;) {
      int mr = wgradRows(g.ci - ci0, nv);
      wgradFn(mr, nv)(g.b, ximg, dyimg, rows, cols, xb + ci0, xrow, xcol, db + co0, drow, dcol, outT + (long)ci0 * g.co + co0, g.co);
      ci0 += mr;
    }
    return;
  }
  for (int co = co0; co < co1; co++)
    for (int ci = 0; ci < g.ci; ci++) {
      float sum = 0;
      for (int n = 0; n < g.b; n++)
        for (int r = 0; r < rows; r++)
          for (int q = 0; q < cols; q++) sum += xb[n * ximg + r * xrow + q * xcol + ci] * db[n * dyimg + r * drow + q * dcol + co];
      outT[(long)ci * g.co + co] = sum;
    }
}

// Pixels per image at or below which the output-stationary filter gradient is used (measured,
// 2 threads AVX-512: 2x2 1024 ch 1107 -> 20 ms, 4x4 512 ch 39.7 -> 36.3 ms; at 8x8 256 ch the
// per-image partials win, 38.6 vs 49.2 ms).
static const int kWgradOsPixels = 16;

static bool conv2dBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw, Parallel& par) {
  if ((long)g.oh * g.ow <= kWgradOsPixels) {
    const int coFull = (g.co / VL) * VL, BW = HS_NVMAX * VL;
    WgradOsCtx C;
    C.g = &g; C.x = x; C.dy = dy; C.dw = dw;
    C.blocks = ceilDiv(coFull, BW) + (g.co > coFull ? 1 : 0);
    par.run(g.kh * g.kw * C.blocks, wgradOsTask, &C);
    return true;
  }
  const long n = (long)g.kh * g.kw * g.ci * g.co;
  float* parts[64];
  int np = imax(1, imin(kWgradParts, g.b));
  bool ok = true;
  for (int p = 0; p < np; p++) { parts[p] = allocFloats(n); ok = ok && parts[p]; }
  if (ok) {
    WgradCtx C;
    C.g = &g; C.x = x; C.dy = dy; C.partial = parts; C.nparts = np;
    par.run(np, wgradTask, &C);
    reducePartials(parts, np, dw, n, par);
  }
  for (int p = 0; p < np; p++) free(parts[p]);
  return ok;
}

// ---------------------------------------------------------------------------------------
// Depthwise (channel multiplier 1: co == ci == C), vectorised over channels.
struct DwCtx {
  const ConvGeom* g;
  const float* a;   // x (forward, filter grad) or dy (input grad)
  const float* b;   // w (forward, input grad) or dy (filter grad)
  float* out;
  float** partial;
  int nparts;
};

// One output row (bi, oy) of the depthwise forward.
static void dwFwdTask(void* vctx, int task, int /*thread*/) {
  DwCtx& D = *(DwCtx*)vctx;
  const ConvGeom& g = *D.g;
  const int C = g.ci, bi = task / g.oh, oy = task % g.oh;
  const int cFull = (C / VL) * VL;
  for (int ox = 0; ox < g.ow; ox++) {
    float* yp = D.out + (((long)bi * g.oh + oy) * g.ow + ox) * C;
    for (int c = 0; c < cFull; c += VL) vstore(yp + c, vzero());
    for (int c = cFull; c < C; c++) yp[c] = 0;
    for (int ky = 0; ky < g.kh; ky++) {
      int iy = oy * g.sh - g.pt + ky * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      for (int kx = 0; kx < g.kw; kx++) {
        int ix = ox * g.sw - g.pl + kx * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        const float* xp = D.a + (((long)bi * g.h + iy) * g.w + ix) * C;
        const float* wp = D.b + (long)(ky * g.kw + kx) * C;
        for (int c = 0; c < cFull; c += VL) vstore(yp + c, vload(yp + c) + vload(xp + c) * vload(wp + c));
        for (int c = cFull; c < C; c++) yp[c] += xp[c] * wp[c];
      }
    }
  }
}

static bool depthwise(const ConvGeom& g, const float* x, const float* w, float* y, Parallel& par) {
  DwCtx D;
  D.g = &g; D.a = x; D.b = w; D.out = y; D.partial = 0; D.nparts = 0;
  par.run(g.b * g.oh, dwFwdTask, &D);
  return true;
}

// One input row (bi, ih) of the depthwise input gradient.
static void dwBinTask(void* vctx, int task, int /*thread*/) {
  DwCtx& D = *(DwCtx*)vctx;
  const ConvGeom& g = *D.g;
  const int C = g.ci, bi = task / g.h, ih = task % g.h;
  const int cFull = (C / VL) * VL;
  for (int iw = 0; iw < g.w; iw++) {
    float* xp = D.out + (((long)bi * g.h + ih) * g.w + iw) * C;
    for (int c = 0; c < cFull; c += VL) vstore(xp + c, vzero());
    for (int c = cFull; c < C; c++) xp[c] = 0;
    for (int ky = 0; ky < g.kh; ky++) {
      int ny = ih + g.pt - ky * g.dh;
      if (ny < 0 || ny % g.sh != 0 || ny / g.sh >= g.oh) continue;
      int oy = ny / g.sh;
      for (int kx = 0; kx < g.kw; kx++) {
        int nx = iw + g.pl - kx * g.dw;
        if (nx < 0 || nx % g.sw != 0 || nx / g.sw >= g.ow) continue;
        int ox = nx / g.sw;
        const float* dp = D.a + (((long)bi * g.oh + oy) * g.ow + ox) * C;
        const float* wp = D.b + (long)(ky * g.kw + kx) * C;
        for (int c = 0; c < cFull; c += VL) vstore(xp + c, vload(xp + c) + vload(dp + c) * vload(wp + c));
        for (int c = cFull; c < C; c++) xp[c] += dp[c] * wp[c];
      }
    }
  }
}

static bool depthwiseBackpropInput(const ConvGeom& g, const float* dy, const float* w, float* dx, Parallel& par) {
  DwCtx D;
  D.g = &g; D.a = dy; D.b = w; D.out = dx; D.partial = 0; D.nparts = 0;
  par.run(g.b * g.h, dwBinTask, &D);
  return true;
}

// One image of the depthwise filter gradient, into this thread's partial [T][C]: per tap,
// up to 8 channel vectors accumulate in registers over the tap's valid pixels.
static void dwWgradImage(DwCtx& D, int bi, float* part) {
  const ConvGeom& g = *D.g;
  const int C = g.ci, cFull = (C / VL) * VL;
  for (int ky = 0; ky < g.kh; ky++) {
    int oy0, oy1;
    validRange(g.h, g.oh, g.sh, g.pt, ky * g.dh, &oy0, &oy1);
    for (int kx = 0; kx < g.kw; kx++) {
      int ox0, ox1;
      validRange(g.w, g.ow, g.sw, g.pl, kx * g.dw, &ox0, &ox1);
      if (oy0 >= oy1 || ox0 >= ox1) continue;
      float* outT = part + (long)(ky * g.kw + kx) * C;
      for (int c0 = 0; c0 < cFull; c0 += 8 * VL) {
        int nvec = imin(8, (cFull - c0) / VL);
        vf acc[8];
        for (int v = 0; v < 8; v++) acc[v] = vzero();
        for (int oy = oy0; oy < oy1; oy++) {
          int iy = oy * g.sh - g.pt + ky * g.dh;
          for (int ox = ox0; ox < ox1; ox++) {
            int ix = ox * g.sw - g.pl + kx * g.dw;
            const float* xp = D.a + (((long)bi * g.h + iy) * g.w + ix) * C + c0;
            const float* dp = D.b + (((long)bi * g.oh + oy) * g.ow + ox) * C + c0;
            if (nvec == 8) {
#pragma GCC unroll 8
              for (int v = 0; v < 8; v++) acc[v] += vload(xp + v * VL) * vload(dp + v * VL);
            } else {
              for (int v = 0; v < nvec; v++) acc[v] += vload(xp + v * VL) * vload(dp + v * VL);
            }
          }
        }
        for (int v = 0; v < nvec; v++) vstore(outT + c0 + v * VL, vload(outT + c0 + v * VL) + acc[v]);
      }
      for (int c = cFull; c < C; c++) {
        float sum = 0;
        for (int oy = oy0; oy < oy1; oy++) {
          int iy = oy * g.sh - g.pt + ky * g.dh;
          for (int ox = ox0; ox < ox1; ox++) {
            int ix = ox * g.sw - g.pl + kx * g.dw;
            sum += D.a[(((long)bi * g.h + iy) * g.w + ix) * C + c] * D.b[(((long)bi * g.oh + oy) * g.ow + ox) * C + c];
          }
        }
        outT[c] += sum;
      }
    }
  }
}

static void dwWgradTask(void* vctx, int p, int /*thread*/) {
  DwCtx& D = *(DwCtx*)vctx;
  for (int bi = chunkStart(D.g->b, D.nparts, p); bi < chunkStart(D.g->b, D.nparts, p + 1); bi++) dwWgradImage(D, bi, D.partial[p]);
}

static bool depthwiseBackpropFilter(const ConvGeom& g, const float* x, const float* dy, float* dw, Parallel& par) {
  const long n = (long)g.kh * g.kw * g.ci;
  float* parts[64];
  int np = imax(1, imin(kWgradParts, g.b));
  bool ok = true;
  for (int p = 0; p < np; p++) { parts[p] = allocFloats(n); ok = ok && parts[p]; }
  if (ok) {
    DwCtx D;
    D.g = &g; D.a = x; D.b = dy; D.out = dw; D.partial = parts; D.nparts = np;
    par.run(np, dwWgradTask, &D);
    reducePartials(parts, np, dw, n, par);
  }
  for (int p = 0; p < np; p++) free(parts[p]);
  return ok;
}

// ---------------------------------------------------------------------------------------
// Per-channel kernels over NHWC activations viewed as [rows][C]: training BatchNorm and the
// PACT quantizer. Sums use kRowParts fixed row chunks added in order (deterministic, as
// the filter gradients). Elementwise loops are plain C for the auto-vectoriser.
static const int kRowParts = 16;

struct RowCtx {
  const float* x;
  const float* dy;
  const float* a;   // per-channel multiplier (BN) or unused
  const float* b;   // per-channel offset (BN) or unused
  const float* c;   // per-channel second multiplier (BN backward) or unused
  const float* k0;  // BN backward: −s·dβ/N per channel
  const float* k1;  // BN backward: −s·dγ/N per channel
  float* y;
  float* partial;   // [kRowParts][2][C]
  long rows;
  int C;
  int pass;
  float s, clip;    // PACT
};

static inline long rowStart(long rows, int p) { return rows * p / kRowParts; }

// pass 0: Σx; 1: Σ(x−a)²; 2: y = x·a + b;
// pass 3: Σdy, Σdy·(x−b)·a   (a = 1/σ, b = μ);  4: dx = c·dy + (x−b)·a·k1 + k0
static void rowTask(void* vctx, int p, int /*thread*/) {
  RowCtx& R = *(RowCtx*)vctx;
  const int C = R.C;
  const long r0 = rowStart(R.rows, p), r1 = rowStart(R.rows, p + 1);
  float* s0 = R.partial + (long)p * 2 * C;
  float* s1 = s0 + C;
  if (R.pass == 0 || R.pass == 1 || R.pass == 3) {
    for (int c = 0; c < C; c++) { s0[c] = 0; s1[c] = 0; }
  }
  for (long r = r0; r < r1; r++) {
    const float* xr = R.x + r * C;
    switch (R.pass) {
      case 0:
        for (int c = 0; c < C; c++) s0[c] += xr[c];
        break;
      case 1:
        for (int c = 0; c < C; c++) { float d = xr[c] - R.a[c]; s0[c] += d * d; }
        break;
      case 2: {
        float* yr = R.y + r * C;
        for (int c = 0; c < C; c++) yr[c] = xr[c] * R.a[c] + R.b[c];
        break;
      }
      case 3: {
        const float* dr = R.dy + r * C;
        for (int c = 0; c < C; c++) { s0[c] += dr[c]; s1[c] += dr[c] * (xr[c] - R.b[c]) * R.a[c]; }
        break;
      }
      default: {
        const float* dr = R.dy + r * C;
        float* yr = R.y + r * C;
        for (int c = 0; c < C; c++) yr[c] = R.c[c] * dr[c] + (xr[c] - R.b[c]) * R.a[c] * R.k1[c] + R.k0[c];
        break;
      }
    }
  }
}

// Σ over the chunks of partial sums [kRowParts][2][C] into out0, out1 (in chunk order).
static void sumRowParts(const float* partial, int C, float* out0, float* out1) {
  for (int c = 0; c < C; c++) { out0[c] = 0; if (out1) out1[c] = 0; }
  for (int p = 0; p < kRowParts; p++)
    for (int c = 0; c < C; c++) {
      out0[c] += partial[(long)p * 2 * C + c];
      if (out1) out1[c] += partial[(long)p * 2 * C + C + c];
    }
}

// y = γ·(x − μ)/sqrt(σ² + eps) + β with the batch's μ, σ² (biased; two passes).
// stats out: [3][C] = μ, σ², 1/sqrt(σ² + eps).
static bool batchNormForward(const float* x, const float* gamma, const float* beta, long rows, int C, float eps,
                             float* y, float* stats, Parallel& par) {
  float* partial = allocFloats((long)kRowParts * 2 * C);
  float* coef = allocFloats(2L * C);
  if (!partial || !coef) { free(partial); free(coef); return false; }
  float* mean = stats;
  float* var = stats + C;
  float* inv = stats + 2 * C;
  RowCtx R;
  __builtin_memset(&R, 0, sizeof R);
  R.x = x; R.y = y; R.partial = partial; R.rows = rows; R.C = C;
  R.pass = 0;
  par.run(kRowParts, rowTask, &R);
  sumRowParts(partial, C, mean, 0);
  for (int c = 0; c < C; c++) mean[c] /= (float)rows;
  R.pass = 1; R.a = mean;
  par.run(kRowParts, rowTask, &R);
  sumRowParts(partial, C, var, 0);
  for (int c = 0; c < C; c++) {
    var[c] /= (float)rows;
    inv[c] = 1.0f / __builtin_sqrtf(var[c] + eps);
    coef[c] = gamma[c] * inv[c];
    coef[C + c] = beta[c] - mean[c] * coef[c];
  }
  R.pass = 2; R.a = coef; R.b = coef + C;
  par.run(kRowParts, rowTask, &R);
  free(partial); free(coef);
  return true;
}

// dβ = Σdy, dγ = Σdy·x̂, dx = s·dy − (s·dγ/N)·x̂ − s·dβ/N with x̂ = (x − μ)/σ, s = γ/σ.
// grads out: [2][C] = dγ, dβ.
static bool batchNormBackward(const float* dy, const float* x, const float* gamma, const float* stats, long rows, int C,
                              float* dx, float* grads, Parallel& par) {
  float* partial = allocFloats((long)kRowParts * 2 * C);
  float* coef = allocFloats(3L * C);
  if (!partial || !coef) { free(partial); free(coef); return false; }
  const float* mean = stats;
  const float* inv = stats + 2 * C;
  float* dgamma = grads;
  float* dbeta = grads + C;
  RowCtx R;
  __builtin_memset(&R, 0, sizeof R);
  R.x = x; R.dy = dy; R.partial = partial; R.rows = rows; R.C = C;
  R.pass = 3; R.a = inv; R.b = mean;
  par.run(kRowParts, rowTask, &R);
  sumRowParts(partial, C, dbeta, dgamma);
  float* sc = coef;           // s
  float* k = coef + C;        // [2][C]: k0 = −s·dβ/N, k1 = −s·dγ/N
  for (int c = 0; c < C; c++) {
    sc[c] = gamma[c] * inv[c];
    k[c] = -sc[c] * dbeta[c] / (float)rows;
    k[C + c] = -sc[c] * dgamma[c] / (float)rows;
  }
  R.pass = 4; R.c = sc; R.y = dx; R.k0 = k; R.k1 = k + C;
  par.run(kRowParts, rowTask, &R);
  free(partial); free(coef);
  return true;
}

struct PactCtx {
  const float* x;
  const float* dy;
  float* y;
  double partial[kRowParts];
  long n;
  float s, a;
};

static void pactTask(void* vctx, int p, int /*thread*/) {
  PactCtx& P = *(PactCtx*)vctx;
  const long i0 = P.n * p / kRowParts, i1 = P.n * (p + 1) / kRowParts;
  const float s = P.s, inv = 1.0f / P.s, a = P.a;
  // After the clamp v·s is in [0, 2^bits − 1]: truncation is the floor, and it vectorises.
  typedef int vi __attribute__((vector_size(HS_VLEN * 4)));
  long i = i0;
  for (; i + VL <= i1; i += VL) {
    vf v = vload(P.x + i), zero = vzero(), av = vsplat(a);
    v = v > zero ? (v < av ? v : av) : zero;
    vi q = __builtin_convertvector(v * vsplat(s), vi);
    vstore(P.y + i, __builtin_convertvector(q, vf) * vsplat(inv));
  }
  for (; i < i1; i++) {
    float v = P.x[i];
    v = v > 0 ? (v < a ? v : a) : 0;
    P.y[i] = (float)(int)(v * s) * inv;
  }
}

// y = floor(s·clamp(x, 0, a))/s. s is a power of two, so ·s and ·(1/s) are exact.
static bool pactForward(const float* x, long n, float s, float a, float* y, Parallel& par) {
  PactCtx P;
  P.x = x; P.dy = 0; P.y = y; P.n = n; P.s = s; P.a = a;
  par.run(kRowParts, pactTask, &P);
  return true;
}

static void pactGradTask(void* vctx, int p, int /*thread*/) {
  PactCtx& P = *(PactCtx*)vctx;
  const long i0 = P.n * p / kRowParts, i1 = P.n * (p + 1) / kRowParts;
  const float a = P.a;
  vf acc = vzero();
  long i = i0;
  for (; i + VL <= i1; i += VL) {
    vf v = vload(P.x + i), g = vload(P.dy + i);
    vf zero = vzero(), av = vsplat(a);
    vf inside = ((v > zero) & (v < av)) ? g : zero;
    vstore(P.y + i, inside);
    acc += v >= av ? g : zero;
  }
  double above = 0;
  for (int l = 0; l < VL; l++) above += acc[l];
  for (; i < i1; i++) {
    float v = P.x[i], g = P.dy[i];
    P.y[i] = (v > 0 && v < a) ? g : 0;
    if (v >= a) above += g;
  }
  P.partial[p] = above;
}

// dx = dy where 0 < x < a else 0; dclip = Σ dy where x ≥ a.
static bool pactBackward(const float* dy, const float* x, long n, float a, float* dx, float* dclip, Parallel& par) {
  PactCtx P;
  P.x = x; P.dy = dy; P.y = dx; P.n = n; P.s = 1; P.a = a;
  par.run(kRowParts, pactGradTask, &P);
  double sum = 0;
  for (int p = 0; p < kRowParts; p++) sum += P.partial[p];
  *dclip = (float)sum;
  return true;
}

#ifndef HS_FREESTANDING
static const KernelSet kSet = {
    HS_ISA_NAME, conv2d, conv2dBackpropInput, conv2dBackpropFilter,
    depthwise, depthwiseBackpropInput, depthwiseBackpropFilter,
    batchNormForward, batchNormBackward, pactForward, pactBackward,
};
#endif

}  // namespace HS_NS
}  // namespace hetsplit
