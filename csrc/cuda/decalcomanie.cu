// CUDA kernels of decalcomanie (mirrored gather along the last dim) and its backward.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>

#include "checks.h"
#include "cuda/cuda_utils.cuh"

namespace mer_fast {
namespace {

template <typename scalar_t>
__global__ void decalcomanie_kernel(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                    int64_t total, int64_t W, int view) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t w = i % W;
    out[i] = x[i - w + mirror_column(view, w, W)];
  }
}

template <typename scalar_t>
__global__ void decalcomanie_backward_kernel(const scalar_t* __restrict__ g,
                                             scalar_t* __restrict__ out, int64_t total, int64_t W,
                                             int view) {
  using opmath_t = at::opmath_type<scalar_t>;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t j = i % W, row = i - j, m = W - 1 - j;
    opmath_t acc = mirror_column(view, j, W) == j ? static_cast<opmath_t>(g[i]) : opmath_t(0);
    if (m != j && mirror_column(view, m, W) == j) acc += static_cast<opmath_t>(g[row + m]);
    out[i] = static_cast<scalar_t>(acc);
  }
}

at::Tensor decalcomanie_cuda(const at::Tensor& x_in, std::string_view side) {
  const int view = decalcomanie_side(side);
  check_decalcomanie(x_in, "decalcomanie");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous();
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  if (x.numel() == 0) return out;
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, x.scalar_type(), "decalcomanie_cuda", [&] {
    decalcomanie_kernel<scalar_t><<<blocks_for(x.numel()), kThreads, 0, stream>>>(
        x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), x.numel(), x.size(-1), view);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor decalcomanie_backward_cuda(const at::Tensor& g_in, std::string_view side) {
  const int view = decalcomanie_side(side);
  check_decalcomanie(g_in, "decalcomanie_backward");
  TORCH_CHECK_VALUE(at::isFloatingType(g_in.scalar_type()),
                    "decalcomanie_backward: grad must be floating, got ", g_in.scalar_type());
  const c10::cuda::CUDAGuard guard(g_in.device());
  const at::Tensor g = g_in.contiguous();
  at::Tensor out = at::empty_like(g, at::MemoryFormat::Contiguous);
  if (g.numel() == 0) return out;
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "decalcomanie_bw_cuda", [&] {
    decalcomanie_backward_kernel<scalar_t><<<blocks_for(g.numel()), kThreads, 0, stream>>>(
        g.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), g.numel(), g.size(-1), view);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(mer_fast, CUDA, m) {
  m.impl("decalcomanie", &decalcomanie_cuda);
  m.impl("decalcomanie_backward", &decalcomanie_backward_cuda);
}

}  // namespace mer_fast
