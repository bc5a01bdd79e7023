#pragma once
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>

namespace mer_fast {

constexpr int kThreads = 256;
// Grid caps. Every kernel strides over the work beyond its grid, in x and in y, so a cap only
// decides how much work each thread does. grid.x is capped so that huge tensors still launch;
// grid.y (and grid.z) cannot exceed 65535 on any device.
constexpr int64_t kMaxBlocks = int64_t{1} << 20;
constexpr int64_t kMaxGridY = 65535;

// The CUDA-on-CPU executor of the tests (csrc/cuda_on_cpu) lowers the caps at run time so that
// the grid-stride loops run at small sizes; a CUDA build uses them as they are.
#ifndef MER_FAST_GRID_CAP
#define MER_FAST_GRID_CAP(cap) (cap)
#endif

// Blocks of `threads` for n elements with a grid-stride loop (grid.x).
inline unsigned int blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned int>(
      std::min<int64_t>(std::max<int64_t>(b, 1), MER_FAST_GRID_CAP(kMaxBlocks)));
}

// grid.y for `jobs` jobs strided over blockIdx.y.
inline unsigned int grid_y_for(int64_t jobs) {
  return static_cast<unsigned int>(
      std::min<int64_t>(std::max<int64_t>(jobs, 1), MER_FAST_GRID_CAP(kMaxGridY)));
}

}  // namespace mer_fast
