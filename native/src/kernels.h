// hetsplit native kernels: the interface shared by the N-API glue (addon.cc) and the
// per-ISA translation units (kernels_avx512.cc, kernels_avx2.cc, kernels_base.cc).
//
// Layouts are TF.js's: activations NHWC, conv filters HWIO [KH][KW][Ci][Co], depthwise
// filters [KH][KW][C][1]. float32 only. All pointers are views into the caller's memory
// (the WebAssembly heap): nothing is copied in or out.
//
// The ISA translation units are compiled for their instruction set with `#pragma GCC
// target` and include no C++ standard headers after it, so no inline library function is
// emitted with wide instructions (that copy could be picked by the linker and run on a CPU
// without them). Threads come from the glue through `Parallel`.
#ifndef HETSPLIT_KERNELS_H
#define HETSPLIT_KERNELS_H

namespace hetsplit {

// Geometry of one 2-D convolution (or depthwise convolution: co == ci).
struct ConvGeom {
  int b, h, w, ci;      // input
  int kh, kw, co;       // filter
  int oh, ow;           // output
  int sh, sw, dh, dw;   // strides, dilations
  int pt, pl;           // top / left padding (bottom / right follow from oh, ow)
};

#ifndef HS_FREESTANDING
// A pool the kernels run tasks on: fn(ctx, task, thread) for every task in [0, n), on
// `threads()` threads (thread ids in [0, threads())). Returns when all tasks are done.
class Parallel {
 public:
  virtual void run(int n, void (*fn)(void* ctx, int task, int thread), void* ctx) = 0;
  virtual int threads() const = 0;
  virtual ~Parallel() {}
};

// Each kernel returns false when it could not allocate its scratch memory (the output is
// then undefined).
struct KernelSet {
  const char* isa;
  bool (*conv2d)(const ConvGeom&, const float* x, const float* w, float* y, Parallel&);
  bool (*conv2dBackpropInput)(const ConvGeom&, const float* dy, const float* w, float* dx, Parallel&);
  bool (*conv2dBackpropFilter)(const ConvGeom&, const float* x, const float* dy, float* dw, Parallel&);
  bool (*depthwise)(const ConvGeom&, const float* x, const float* w, float* y, Parallel&);
  bool (*depthwiseBackpropInput)(const ConvGeom&, const float* dy, const float* w, float* dx, Parallel&);
  bool (*depthwiseBackpropFilter)(const ConvGeom&, const float* x, const float* dy, float* dw, Parallel&);
  // Training BatchNorm over [rows][C]; stats [3][C] = mean, biased variance, 1/sqrt(var+eps).
  bool (*batchNormForward)(const float* x, const float* gamma, const float* beta, long rows, int C, float eps,
                           float* y, float* stats, Parallel&);
  // grads [2][C] = dgamma, dbeta.
  bool (*batchNormBackward)(const float* dy, const float* x, const float* gamma, const float* stats, long rows, int C,
                            float* dx, float* grads, Parallel&);
  // PACT: y = floor(s·clamp(x, 0, a))/s; its gradient dx (= dy inside (0, a)) and dclip (Σ dy above a).
  bool (*pactForward)(const float* x, long n, float s, float a, float* y, Parallel&);
  bool (*pactBackward)(const float* dy, const float* x, long n, float a, float* dx, float* dclip, Parallel&);
};

// Defined by each ISA translation unit; null where the unit was not compiled for this
// architecture (kernels_avx512.cc / kernels_avx2.cc off x86-64).
const KernelSet* kernelsAvx512();
const KernelSet* kernelsAvx2();
const KernelSet* kernelsBase();
#endif  // HS_FREESTANDING (wasm/src/kernels.cc defines its own Parallel, with the same run/threads)

}  // namespace hetsplit

#endif
