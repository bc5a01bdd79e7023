// The first lines of every csrc/cuda/*.cu file as tools/cuda_on_cpu.py compiles it for the CPU:
// CUDA's built-ins, the launcher, the stand-ins of c10/cuda (include/, first on the include path),
// and the kernels' registrations moved from `TORCH_LIBRARY_IMPL(mer_fast, CUDA, m)` to the CPU
// key of the executor's own op namespace, CUDA_ON_CPU_OP_NAMESPACE (defined by the build, e.g.
// mer_fast_cudaexec), so that they run on CPU tensors next to the CPU kernels of mer_fast.
#pragma once
#include <torch/library.h>

#include <cstdint>

#include "cuda_on_cpu/builtins.h"
#include "cuda_on_cpu/dev_ptr.h"
#include "cuda_on_cpu/launch.h"

#ifndef CUDA_ON_CPU_OP_NAMESPACE
#error "define CUDA_ON_CPU_OP_NAMESPACE (the op namespace the executed kernels register under)"
#endif

namespace cuda_on_cpu {
// The grid caps of csrc/cuda/cuda_utils.cuh, lowered when the executor is set to (so that the
// kernels' grid-stride loops run at small sizes); `cap` itself otherwise.
int64_t grid_cap(int64_t cap);
}  // namespace cuda_on_cpu

#define MER_FAST_GRID_CAP(cap) (::cuda_on_cpu::grid_cap(cap))

// Only CUDA registrations are moved; any other dispatch key stops the build here.
#define CUDA_ON_CPU_KEY_CUDA CPU
#define CUDA_ON_CPU_LIBRARY_IMPL(ns, k, m, uid) _TORCH_LIBRARY_IMPL(ns, k, m, uid)
#undef TORCH_LIBRARY_IMPL
#define TORCH_LIBRARY_IMPL(ns, k, m) \
  CUDA_ON_CPU_LIBRARY_IMPL(CUDA_ON_CPU_OP_NAMESPACE, CUDA_ON_CPU_KEY_##k, m, C10_UID)
// The schemas are mer_fast's, copied into the executor's namespace by tests/cuda_on_cpu.py.
#undef TORCH_LIBRARY
#define TORCH_LIBRARY(ns, m) static_assert(false, "cuda_on_cpu: define ops in csrc/ops.cpp")
