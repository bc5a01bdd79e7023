// CPU kernels of temporal_resize (linear interpolation along dim 2 of [N, C, T, H, W],
// align_corners=False) and of its backward (the adjoint, as a gather).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <c10/util/irange.h>
#include <torch/library.h>

#include <vector>

#include "checks.h"
#include "temporal_taps.h"

namespace mer_fast {
namespace {

std::vector<int64_t> with_time(const at::Tensor& x, int64_t t) {
  std::vector<int64_t> s(x.sizes().begin(), x.sizes().end());
  s[2] = t;
  return s;
}

at::Tensor temporal_resize_cpu(const at::Tensor& x_in, int64_t t_out) {
  check_temporal_resize(x_in, t_out, "temporal_resize");
  const at::Tensor x = x_in.contiguous();
  at::Tensor out = allocate_output("temporal_resize", with_time(x, t_out), x.options());
  if (out.numel() == 0) return out;
  const int64_t B = x.size(0) * x.size(1), T = x.size(2), S = x.size(3) * x.size(4);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "temporal_resize", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, S));
    at::parallel_for(0, B * t_out, grain, [&](int64_t begin, int64_t end) {
      for (int64_t job = begin; job < end; ++job) {
        const int64_t b = job / t_out, t = job % t_out;
        const auto tt = temporal_taps<opmath_t>(T, t_out, t);
        const scalar_t* a = src + (b * T + tt.t0) * S;
        const scalar_t* c = src + (b * T + tt.t1) * S;
        scalar_t* o = dst + (b * t_out + t) * S;
        const opmath_t w0 = tt.w0, w1 = tt.w1;
        for (int64_t s = 0; s < S; ++s) {
          o[s] = static_cast<scalar_t>(w0 * static_cast<opmath_t>(a[s]) +
                                       w1 * static_cast<opmath_t>(c[s]));
        }
      }
    });
  });
  return out;
}

at::Tensor temporal_resize_backward_cpu(const at::Tensor& grad_in, int64_t t_in) {
  TORCH_CHECK_VALUE(t_in >= 1, "temporal_resize_backward: t_in must be >= 1, got ", t_in);
  check_temporal_resize(grad_in, t_in, "temporal_resize_backward");
  const at::Tensor g = grad_in.contiguous();
  at::Tensor out = allocate_output("temporal_resize_backward", with_time(g, t_in), g.options());
  if (out.numel() == 0) return out;
  const int64_t B = g.size(0) * g.size(1), t_out = g.size(2), S = g.size(3) * g.size(4);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "temporal_resize_bw", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const TemporalAdjoint adj = temporal_adjoint<opmath_t>(t_in, t_out);
    const int64_t* start = adj.start.data_ptr<int64_t>();
    const int64_t* srcs = adj.src.data_ptr<int64_t>();
    const double* weights = adj.weight.data_ptr<double>();
    const scalar_t* src = g.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, S));
    at::parallel_for(0, B * t_in, grain, [&](int64_t begin, int64_t end) {
      std::vector<opmath_t> acc(static_cast<size_t>(S));
      for (int64_t job = begin; job < end; ++job) {
        const int64_t b = job / t_in, i = job % t_in;
        std::fill(acc.begin(), acc.end(), opmath_t(0));
        for (int64_t k = start[i]; k < start[i + 1]; ++k) {
          const scalar_t* row = src + (b * t_out + srcs[k]) * S;
          const opmath_t w = static_cast<opmath_t>(weights[k]);
          for (int64_t s = 0; s < S; ++s) acc[s] += w * static_cast<opmath_t>(row[s]);
        }
        scalar_t* o = dst + (b * t_in + i) * S;
        for (int64_t s = 0; s < S; ++s) o[s] = static_cast<scalar_t>(acc[s]);
      }
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(mer_fast, CPU, m) {
  m.impl("temporal_resize", &temporal_resize_cpu);
  m.impl("temporal_resize_backward", &temporal_resize_backward_cpu);
}

}  // namespace mer_fast
