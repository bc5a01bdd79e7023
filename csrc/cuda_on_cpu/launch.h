// The launcher that `kernel<<<grid, block, smem, stream>>>(args)` is rewritten to
// (tools/cuda_on_cpu.py): `::cuda_on_cpu::Launch("kernel", __FILE__, __LINE__, grid, block,
// smem, stream).run(kernel)(args)`.
//
// Before running anything it checks what the device would refuse or what would go wrong on one:
// grid.x in [1, 2^31 - 1], grid.y and grid.z in [1, 65535], block.x and block.y <= 1024,
// block.z <= 64, at most 1024 threads a block, at most 48 KiB of dynamic shared memory; a live
// CUDAGuard; the launch on the current stream; the previous launch checked with
// C10_CUDA_KERNEL_LAUNCH_CHECK(). Then it runs every block and every thread one after another,
// in the order the executor is set to (forward, or reverse: the race check). Pointer arguments
// become dev_ptr (bounds-checked).
#pragma once
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_on_cpu/builtins.h"
#include "cuda_on_cpu/dev_ptr.h"

namespace cuda_on_cpu {

struct LaunchSite {
  const char* kernel;
  const char* file;
  int line;
};

// Checks the configuration and the guard/stream/launch-check rules, and marks the launch as
// running (runtime.cpp). Throws c10::Error naming the kernel, its launch site and the fix.
void begin_launch(const LaunchSite& site, dim3 grid, dim3 block, size_t smem,
                  cudaStream_t stream);
// The launch ran to its end: checks the guard bytes around every live allocation (an
// out-of-bounds write through a raw pointer), counts it, and awaits its launch check.
void end_launch(uint64_t threads);
// The launch stopped with an error (which is on its way to the caller): forgets it.
void abandon_launch() noexcept;
// True when the blocks run last to first and the threads of each block last to first.
bool reverse_order();

template <typename T>
struct is_dev_ptr : std::false_type {};
template <typename T>
struct is_dev_ptr<dev_ptr<T>> : std::true_type {};

template <typename P, typename A>
P to_parameter(A&& a, int index, const char* kernel) {
  if constexpr (is_dev_ptr<P>::value) {
    using T = typename P::element_type;
    return P::argument(static_cast<T*>(a), index, kernel);
  } else {
    return static_cast<P>(std::forward<A>(a));
  }
}

class Launch {
 public:
  Launch(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t smem = 0,
         cudaStream_t stream = nullptr)
      : site_{kernel, file, line}, grid_(grid), block_(block), smem_(smem), stream_(stream) {}

  template <typename... P>
  auto run(void (*kernel)(P...)) const {
    return [kernel, self = *this](auto&&... args) {
      static_assert(sizeof...(args) == sizeof...(P), "kernel launched with a wrong argument count");
      self.execute(kernel, std::index_sequence_for<P...>{}, std::forward<decltype(args)>(args)...);
    };
  }

 private:
  template <typename... P, size_t... I, typename... A>
  void execute(void (*kernel)(P...), std::index_sequence<I...>, A&&... args) const {
    begin_launch(site_, grid_, block_, smem_, stream_);
    struct Scope {
      bool done = false;
      ~Scope() {
        position.in_kernel = false;
        if (!done) abandon_launch();
      }
    } scope;
    std::tuple<std::decay_t<P>...> params(
        to_parameter<std::decay_t<P>>(std::forward<A>(args), static_cast<int>(I), site_.kernel)...);
    const uint64_t gx = grid_.x, gy = grid_.y, gz = grid_.z;
    const uint64_t bx = block_.x, by = block_.y, bz = block_.z;
    const uint64_t blocks = gx * gy * gz, threads = bx * by * bz;
    const bool reverse = reverse_order();
    ThreadPosition& pos = position;
    pos.grid_dim = grid_;
    pos.block_dim = block_;
    pos.in_kernel = true;
    for (uint64_t b = 0; b < blocks; ++b) {
      const uint64_t i = reverse ? blocks - 1 - b : b;
      pos.block = uint3{static_cast<unsigned>(i % gx), static_cast<unsigned>(i / gx % gy),
                        static_cast<unsigned>(i / (gx * gy))};
      for (uint64_t t = 0; t < threads; ++t) {
        const uint64_t j = reverse ? threads - 1 - t : t;
        pos.thread = uint3{static_cast<unsigned>(j % bx), static_cast<unsigned>(j / bx % by),
                           static_cast<unsigned>(j / (bx * by))};
        std::apply(kernel, params);
      }
    }
    scope.done = true;
    position.in_kernel = false;
    end_launch(blocks * threads);
  }

  LaunchSite site_;
  dim3 grid_, block_;
  size_t smem_;
  cudaStream_t stream_;
};

}  // namespace cuda_on_cpu
