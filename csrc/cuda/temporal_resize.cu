// CUDA kernels of temporal_resize and its backward (a gather over the CSR adjoint table, no
// atomics, fixed summation order). One thread per output element, grid-stride.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <torch/library.h>

#include "checks.h"
#include "cuda/cuda_utils.cuh"
#include "temporal_taps.h"

namespace mer_fast {
namespace {

template <typename scalar_t>
__global__ void temporal_resize_kernel(const scalar_t* __restrict__ x, scalar_t* __restrict__ out,
                                       int64_t B, int64_t T, int64_t t_out, int64_t S) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t total = B * t_out * S;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t s = i % S, bt = i / S, t = bt % t_out, b = bt / t_out;
    const auto tt = temporal_taps<opmath_t>(T, t_out, t);
    const opmath_t a = static_cast<opmath_t>(x[(b * T + tt.t0) * S + s]);
    const opmath_t c = static_cast<opmath_t>(x[(b * T + tt.t1) * S + s]);
    out[i] = static_cast<scalar_t>(tt.w0 * a + tt.w1 * c);
  }
}

template <typename scalar_t>
__global__ void temporal_resize_backward_kernel(const scalar_t* __restrict__ g,
                                                scalar_t* __restrict__ out,
                                                const int64_t* __restrict__ start,
                                                const int64_t* __restrict__ src,
                                                const double* __restrict__ weight, int64_t B,
                                                int64_t t_in, int64_t t_out, int64_t S) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t total = B * t_in * S;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t s = i % S, bi = i / S, ti = bi % t_in, b = bi / t_in;
    opmath_t acc = 0;
    for (int64_t k = start[ti]; k < start[ti + 1]; ++k) {
      acc += static_cast<opmath_t>(weight[k]) *
             static_cast<opmath_t>(g[(b * t_out + src[k]) * S + s]);
    }
    out[i] = static_cast<scalar_t>(acc);
  }
}

std::vector<int64_t> with_time(const at::Tensor& x, int64_t t) {
  std::vector<int64_t> s(x.sizes().begin(), x.sizes().end());
  s[2] = t;
  return s;
}

at::Tensor temporal_resize_cuda(const at::Tensor& x_in, int64_t t_out) {
  check_temporal_resize(x_in, t_out, "temporal_resize");
  const c10::cuda::CUDAGuard guard(x_in.device());
  const at::Tensor x = x_in.contiguous();
  at::Tensor out = allocate_output("temporal_resize", with_time(x, t_out), x.options());
  if (out.numel() == 0) return out;
  const int64_t B = x.size(0) * x.size(1), T = x.size(2), S = x.size(3) * x.size(4);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "temporal_resize_cuda", [&] {
    temporal_resize_kernel<scalar_t><<<blocks_for(out.numel()), kThreads, 0, stream>>>(
        x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), B, T, t_out, S);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor temporal_resize_backward_cuda(const at::Tensor& g_in, int64_t t_in) {
  TORCH_CHECK_VALUE(t_in >= 1, "temporal_resize_backward: t_in must be >= 1, got ", t_in);
  check_temporal_resize(g_in, t_in, "temporal_resize_backward");
  const c10::cuda::CUDAGuard guard(g_in.device());
  const at::Tensor g = g_in.contiguous();
  at::Tensor out = allocate_output("temporal_resize_backward", with_time(g, t_in), g.options());
  if (out.numel() == 0) return out;
  const int64_t B = g.size(0) * g.size(1), t_out = g.size(2), S = g.size(3) * g.size(4);
  const auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "temporal_resize_bw_cuda", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const TemporalAdjoint host = temporal_adjoint<opmath_t>(t_in, t_out);
    const at::Tensor start = host.start.to(g.device());
    const at::Tensor src = host.src.to(g.device());
    const at::Tensor weight = host.weight.to(g.device());
    temporal_resize_backward_kernel<scalar_t><<<blocks_for(out.numel()), kThreads, 0, stream>>>(
        g.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), start.data_ptr<int64_t>(),
        src.data_ptr<int64_t>(), weight.data_ptr<double>(), B, t_in, t_out, S);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(mer_fast, CUDA, m) {
  m.impl("temporal_resize", &temporal_resize_cuda);
  m.impl("temporal_resize_backward", &temporal_resize_backward_cuda);
}

}  // namespace mer_fast
