// The kernels for AVX2 + FMA (8 floats per vector, 16 registers). See kernels_impl.h.
#include <stdlib.h>
#include "kernels.h"
#if defined(__x86_64__)
#pragma GCC target("avx2,fma")
#define HS_NS avx2
#define HS_VLEN 8
#define HS_MAXACC 12
#define HS_NVMAX 2
#define HS_ISA_NAME "avx2"
#include "kernels_impl.h"
namespace hetsplit {
const KernelSet* kernelsAvx2() { return &avx2::kSet; }
}
#else
namespace hetsplit {
const KernelSet* kernelsAvx2() { return 0; }
}
#endif
