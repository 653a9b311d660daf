// N-API glue of hetsplit's native kernels: ISA dispatch, a thread pool, and argument
// checks. Every array argument is a Float32Array view (normally into the WebAssembly
// heap); the kernels read and write through it in place.
#include <node_api.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"

namespace hetsplit {
namespace {

// ---------------------------------------------------------------------------------------
// A fixed pool: the calling thread is thread 0, workers are 1..n-1. Tasks are taken from
// an atomic counter; a call returns when every task has finished.
class Pool : public Parallel {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() override { stop(); }

  int threads() const override { return n_; }

  void resize(int n) {
    if (n < 1) n = 1;
    if (n > 64) n = 64;
    if (n == n_) return;
    stop();
    n_ = n;
    quit_ = false;
    for (int i = 1; i < n_; i++) workers_.emplace_back([this, i] { loop(i); });
  }

  void run(int n, void (*fn)(void*, int, int), void* ctx) override {
    if (n <= 0) return;
    if (n_ == 1 || n == 1) {
      for (int t = 0; t < n; t++) fn(ctx, t, 0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn_ = fn;
      ctx_ = ctx;
      ntasks_ = n;
      next_.store(0);
      active_ = n_ - 1;
      generation_++;
    }
    wake_.notify_all();
    work(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return active_ == 0; });
  }

 private:
  void work(int thread) {
    for (;;) {
      int t = next_.fetch_add(1);
      if (t >= ntasks_) break;
      fn_(ctx_, t, thread);
    }
  }

  void loop(int thread) {
    unsigned seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
      }
      work(thread);
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_.notify_one();
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  int n_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  bool quit_ = false;
  unsigned generation_ = 0;
  int active_ = 0;
  void (*fn_)(void*, int, int) = nullptr;
  void* ctx_ = nullptr;
  int ntasks_ = 0;
  std::atomic<int> next_{0};
};

Pool* pool = nullptr;
const KernelSet* active = nullptr;

std::vector<const KernelSet*> available() {
  std::vector<const KernelSet*> out;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && kernelsAvx512())
    out.push_back(kernelsAvx512());
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && kernelsAvx2())
    out.push_back(kernelsAvx2());
#endif
  out.push_back(kernelsBase());
  return out;
}

// ---------------------------------------------------------------------------------------
// Argument helpers. A failed check throws a JS TypeError and returns false.
bool throwType(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, nullptr, msg.c_str());
  return false;
}

bool getFloats(napi_env env, napi_value v, const char* name, size_t expect, float** out) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return throwType(env, std::string("hetsplit native: ") + name + " must be a Float32Array");
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr);
  if (type != napi_float32_array) return throwType(env, std::string("hetsplit native: ") + name + " must be a Float32Array");
  if (len != expect) {
    return throwType(env, std::string("hetsplit native: ") + name + " has " + std::to_string(len) +
                              " elements, the geometry needs " + std::to_string(expect));
  }
  *out = static_cast<float*>(data);
  return true;
}

// geom: Int32Array [b,h,w,ci, kh,kw,co, oh,ow, sh,sw,dh,dw, pt,pl]
bool getGeom(napi_env env, napi_value v, ConvGeom* g) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  if (is) napi_get_typedarray_info(env, v, &type, &len, &data, nullptr, nullptr);
  if (!is || type != napi_int32_array || len != 15) return throwType(env, "hetsplit native: geometry must be an Int32Array of 15");
  const int* a = static_cast<const int*>(data);
  *g = ConvGeom{a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]};
  for (int i = 0; i < 15; i++) {
    bool ok = i >= 13 ? a[i] >= 0 : (i == 0 || i == 7 || i == 8 ? a[i] >= 0 : a[i] >= 1);
    if (!ok) return throwType(env, "hetsplit native: geometry entry " + std::to_string(i) + " out of range");
  }
  if (g->sh * g->sw > 64) return throwType(env, "hetsplit native: stride product above 64");
  return true;
}

using ConvFn = bool (*)(const ConvGeom&, const float*, const float*, float*, Parallel&);

enum Which { kConv, kConvBin, kConvWgrad, kDw, kDwBin, kDwWgrad };

napi_value call(napi_env env, napi_callback_info info, Which which) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 4) {
    throwType(env, "hetsplit native: expected (a, b, out, geometry)");
    return nullptr;
  }
  ConvGeom g;
  if (!getGeom(env, argv[3], &g)) return nullptr;
  const size_t xs = (size_t)g.b * g.h * g.w * g.ci, ys = (size_t)g.b * g.oh * g.ow * g.co;
  const size_t ws = (size_t)g.kh * g.kw * g.ci * (which >= kDw ? 1 : g.co);
  if (which >= kDw && g.co != g.ci) {
    throwType(env, "hetsplit native: depthwise needs channel multiplier 1");
    return nullptr;
  }
  size_t na, nb, no;
  switch (which) {
    case kConv: case kDw: na = xs; nb = ws; no = ys; break;
    case kConvBin: case kDwBin: na = ys; nb = ws; no = xs; break;
    default: na = xs; nb = ys; no = ws; break;
  }
  float *a, *b, *o;
  if (!getFloats(env, argv[0], "first input", na, &a) || !getFloats(env, argv[1], "second input", nb, &b) ||
      !getFloats(env, argv[2], "output", no, &o))
    return nullptr;
  ConvFn fn = nullptr;
  switch (which) {
    case kConv: fn = active->conv2d; break;
    case kConvBin: fn = active->conv2dBackpropInput; break;
    case kConvWgrad: fn = active->conv2dBackpropFilter; break;
    case kDw: fn = active->depthwise; break;
    case kDwBin: fn = active->depthwiseBackpropInput; break;
    case kDwWgrad: fn = active->depthwiseBackpropFilter; break;
  }
  if (!fn(g, a, b, o, *pool)) {
    napi_throw_error(env, nullptr, "hetsplit native: out of memory for kernel scratch");
    return nullptr;
  }
  return nullptr;
}

napi_value Conv2D(napi_env env, napi_callback_info info) { return call(env, info, kConv); }
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) { return call(env, info, kConvBin); }
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) { return call(env, info, kConvWgrad); }
napi_value Depthwise(napi_env env, napi_callback_info info) { return call(env, info, kDw); }
napi_value DepthwiseBackpropInput(napi_env env, napi_callback_info info) { return call(env, info, kDwBin); }
napi_value DepthwiseBackpropFilter(napi_env env, napi_callback_info info) { return call(env, info, kDwWgrad); }


// ---------------------------------------------------------------------------------------
// Per-channel kernels. Arguments are checked against each other (C from gamma / stats).
bool getArgs(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != n) return throwType(env, "hetsplit native: expected " + std::to_string(n) + " arguments");
  return true;
}

bool getLength(napi_env env, napi_value v, const char* name, size_t* len, float** data) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  napi_typedarray_type type;
  void* d = nullptr;
  if (is) napi_get_typedarray_info(env, v, &type, len, &d, nullptr, nullptr);
  if (!is || type != napi_float32_array) return throwType(env, std::string("hetsplit native: ") + name + " must be a Float32Array");
  *data = static_cast<float*>(d);
  return true;
}

bool getNumber(napi_env env, napi_value v, const char* name, double* out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return throwType(env, std::string("hetsplit native: ") + name + " must be a number");
  return true;
}

// batchNormForward(x, gamma, beta, y, stats, eps)
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  napi_value a[6];
  if (!getArgs(env, info, 6, a)) return nullptr;
  size_t nx, c, nb, ny, ns;
  float *x, *g, *b, *y, *st;
  double eps;
  if (!getLength(env, a[0], "x", &nx, &x) || !getLength(env, a[1], "gamma", &c, &g) || !getLength(env, a[2], "beta", &nb, &b) ||
      !getLength(env, a[3], "y", &ny, &y) || !getLength(env, a[4], "stats", &ns, &st) || !getNumber(env, a[5], "eps", &eps))
    return nullptr;
  if (c == 0 || nx % c != 0 || nb != c || ny != nx || ns != 3 * c) {
    throwType(env, "hetsplit native: batchNormForward: sizes disagree (x rows x C, gamma/beta C, y as x, stats 3C)");
    return nullptr;
  }
  if (!active->batchNormForward(x, g, b, (long)(nx / c), (int)c, (float)eps, y, st, *pool)) {
    napi_throw_error(env, nullptr, "hetsplit native: out of memory for kernel scratch");
  }
  return nullptr;
}

// batchNormBackward(dy, x, gamma, stats, dx, grads)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  napi_value a[6];
  if (!getArgs(env, info, 6, a)) return nullptr;
  size_t nd, nx, c, ns, ndx, ng;
  float *dy, *x, *g, *st, *dx, *gr;
  if (!getLength(env, a[0], "dy", &nd, &dy) || !getLength(env, a[1], "x", &nx, &x) || !getLength(env, a[2], "gamma", &c, &g) ||
      !getLength(env, a[3], "stats", &ns, &st) || !getLength(env, a[4], "dx", &ndx, &dx) || !getLength(env, a[5], "grads", &ng, &gr))
    return nullptr;
  if (c == 0 || nx % c != 0 || nd != nx || ndx != nx || ns != 3 * c || ng != 2 * c) {
    throwType(env, "hetsplit native: batchNormBackward: sizes disagree (dy, x, dx rows x C; gamma C; stats 3C; grads 2C)");
    return nullptr;
  }
  if (!active->batchNormBackward(dy, x, g, st, (long)(nx / c), (int)c, dx, gr, *pool)) {
    napi_throw_error(env, nullptr, "hetsplit native: out of memory for kernel scratch");
  }
  return nullptr;
}

// pactForward(x, y, s, a)
napi_value PactForward(napi_env env, napi_callback_info info) {
  napi_value a[4];
  if (!getArgs(env, info, 4, a)) return nullptr;
  size_t nx, ny;
  float *x, *y;
  double sc, clip;
  if (!getLength(env, a[0], "x", &nx, &x) || !getLength(env, a[1], "y", &ny, &y) || !getNumber(env, a[2], "s", &sc) ||
      !getNumber(env, a[3], "a", &clip))
    return nullptr;
  if (nx != ny) {
    throwType(env, "hetsplit native: pactForward: x and y differ in size");
    return nullptr;
  }
  active->pactForward(x, (long)nx, (float)sc, (float)clip, y, *pool);
  return nullptr;
}

// pactBackward(dy, x, dx, a) -> dclip
napi_value PactBackward(napi_env env, napi_callback_info info) {
  napi_value a[4];
  if (!getArgs(env, info, 4, a)) return nullptr;
  size_t nd, nx, ndx;
  float *dy, *x, *dx;
  double clip;
  if (!getLength(env, a[0], "dy", &nd, &dy) || !getLength(env, a[1], "x", &nx, &x) || !getLength(env, a[2], "dx", &ndx, &dx) ||
      !getNumber(env, a[3], "a", &clip))
    return nullptr;
  if (nd != nx || ndx != nx) {
    throwType(env, "hetsplit native: pactBackward: dy, x and dx differ in size");
    return nullptr;
  }
  float dclip = 0;
  active->pactBackward(dy, x, (long)nx, (float)clip, dx, &dclip, *pool);
  napi_value out;
  napi_create_double(env, dclip, &out);
  return out;
}

// configure({threads?, isa?}) → {isa, threads, isas}
napi_value Configure(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  std::vector<const KernelSet*> isas = available();
  if (argc >= 1) {
    napi_value v;
    bool has = false;
    napi_has_named_property(env, argv[0], "threads", &has);
    if (has) {
      int32_t n = 1;
      napi_get_named_property(env, argv[0], "threads", &v);
      if (napi_get_value_int32(env, v, &n) != napi_ok || n < 1 || n > 64) {
        throwType(env, "hetsplit native: threads must be a whole number in 1..64");
        return nullptr;
      }
      pool->resize(n);
    }
    napi_has_named_property(env, argv[0], "isa", &has);
    if (has) {
      char buf[32];
      size_t len = 0;
      napi_get_named_property(env, argv[0], "isa", &v);
      if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) {
        throwType(env, "hetsplit native: isa must be a string");
        return nullptr;
      }
      const KernelSet* pick = nullptr;
      for (auto* k : isas)
        if (std::strcmp(k->isa, buf) == 0) pick = k;
      if (!pick) {
        std::string names;
        for (auto* k : isas) names += std::string(names.empty() ? "" : ", ") + k->isa;
        throwType(env, std::string("hetsplit native: isa '") + buf + "' is not available on this CPU (" + names + ")");
        return nullptr;
      }
      active = pick;
    }
  }
  napi_value out, s, n, arr;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, active->isa, NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, out, "isa", s);
  napi_create_int32(env, pool->threads(), &n);
  napi_set_named_property(env, out, "threads", n);
  napi_create_array_with_length(env, isas.size(), &arr);
  for (size_t i = 0; i < isas.size(); i++) {
    napi_create_string_utf8(env, isas[i]->isa, NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, (uint32_t)i, s);
  }
  napi_set_named_property(env, out, "isas", arr);
  return out;
}

void Cleanup(void*) {
  delete pool;
  pool = nullptr;
}

}  // namespace
}  // namespace hetsplit

NAPI_MODULE_INIT() {
  using namespace hetsplit;
  if (!pool) {
    pool = new Pool(1);
    active = available().front();
    napi_add_env_cleanup_hook(env, Cleanup, nullptr);
  }
  const napi_property_descriptor props[] = {
      {"configure", nullptr, Configure, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2DBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2DBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwise", nullptr, Depthwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropInput", nullptr, DepthwiseBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropFilter", nullptr, DepthwiseBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pactForward", nullptr, PactForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pactBackward", nullptr, PactBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
