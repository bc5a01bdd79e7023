// cuda_on_cpu's stand-in for c10/cuda/CUDAException.h: C10_CUDA_KERNEL_LAUNCH_CHECK() marks the
// last launch as checked (the launcher refuses a launch, and the executor an op call, that
// leaves one unchecked).
#pragma once
#include <c10/util/Exception.h>

namespace cuda_on_cpu {
void launch_checked(const char* file, int line);
}  // namespace cuda_on_cpu

#define C10_CUDA_KERNEL_LAUNCH_CHECK() ::cuda_on_cpu::launch_checked(__FILE__, __LINE__)
