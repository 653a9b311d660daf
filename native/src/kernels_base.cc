// The kernels for the architecture's baseline (SSE2 on x86-64, NEON on arm64): 4 floats
// per vector, 16 registers. See kernels_impl.h.
#include <stdlib.h>
#include "kernels.h"
#define HS_NS base
#define HS_VLEN 4
#define HS_MAXACC 12
#define HS_NVMAX 2
#define HS_ISA_NAME "baseline"
#include "kernels_impl.h"
namespace hetsplit {
const KernelSet* kernelsBase() { return &base::kSet; }
}
