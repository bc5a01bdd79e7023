#pragma once
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <cstdint>

namespace mer_fast {

constexpr int kThreads = 256;

// Blocks for n elements with a grid-stride loop (capped so huge tensors still launch).
inline unsigned int blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned int>(std::min<int64_t>(std::max<int64_t>(b, 1), 1 << 20));
}

}  // namespace mer_fast
