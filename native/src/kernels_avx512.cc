// The kernels for AVX-512 (16 floats per vector, 32 registers). See kernels_impl.h.
#include <stdlib.h>
#include "kernels.h"
#if defined(__x86_64__)
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi2")
#define HS_NS avx512
#define HS_VLEN 16
#define HS_MAXACC 24
#define HS_NVMAX 4
#define HS_ISA_NAME "avx512"
#include "kernels_impl.h"
namespace hetsplit {
const KernelSet* kernelsAvx512() { return &avx512::kSet; }
}
#else
namespace hetsplit {
const KernelSet* kernelsAvx512() { return 0; }
}
#endif
