// CUDA's built-ins for a plain C++ compiler, so that the source of csrc/cuda/*.cu runs on the CPU
// (tests only: tools/cuda_on_cpu.py builds it, tests/cuda_on_cpu.py drives it).
//
// Kernels run one thread after another (runtime.h's Launch): the index built-ins are thread-local
// values the launcher sets before each call. What needs threads that run together (shared
// memory, __syncthreads, atomics, warp intrinsics) is not provided: such a kernel does not
// compile here, with an error that names the missing feature.
#pragma once
#include <c10/util/Exception.h>

#include <cstddef>
#include <cstdint>
#include <string>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// gcc knows __restrict__ itself.
#define __shared__ cuda_on_cpu_does_not_support_shared_memory
#define __syncthreads() cuda_on_cpu_does_not_support___syncthreads()
#define __syncwarp(...) cuda_on_cpu_does_not_support___syncwarp()

struct uint3 {
  unsigned int x = 0, y = 0, z = 0;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}  // NOLINT: implicit, as CUDA's
};

struct CUstream_st;                  // opaque, as in the CUDA runtime
using cudaStream_t = CUstream_st*;   // here: the stream's id, 0 = the default stream

namespace cuda_on_cpu {

// Where the executing thread is: set by the launcher before each call of a kernel.
struct ThreadPosition {
  uint3 block, thread;
  dim3 block_dim, grid_dim;
  bool in_kernel = false;
};

inline thread_local ThreadPosition position;

inline const ThreadPosition& current() { return position; }

// Checks a read of n bytes at p against the live tensor allocations (runtime.cpp); throws, naming
// the running kernel, block and thread, when p is outside all of them.
void check_access(const void* p, size_t n, const char* what);

// Finds the live tensor allocation holding p: its user bytes [lo, hi). False if none.
bool find_allocation(const void* p, uintptr_t* lo, uintptr_t* hi);

// "kernel K, block (x,y,z), thread (x,y,z)" of the running kernel, for error messages.
std::string where();

}  // namespace cuda_on_cpu

#define blockIdx (::cuda_on_cpu::current().block)
#define threadIdx (::cuda_on_cpu::current().thread)
#define blockDim (::cuda_on_cpu::current().block_dim)
#define gridDim (::cuda_on_cpu::current().grid_dim)

// Loads through the read-only cache: a checked read here (raw pointers: against every live
// allocation; kernel arguments: against their own buffer, see dev_ptr.h).
template <typename T>
inline T __ldg(const T* p) {
  ::cuda_on_cpu::check_access(p, sizeof(T), "__ldg");
  return *p;
}
