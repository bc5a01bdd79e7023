// CPU kernels of decalcomanie (a mirrored gather along the last dim) and of its backward.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

#include "checks.h"

namespace mer_fast {
namespace {

at::Tensor decalcomanie_cpu(const at::Tensor& x_in, std::string_view side) {
  const int view = decalcomanie_side(side);
  check_decalcomanie(x_in, "decalcomanie");
  const at::Tensor x = x_in.contiguous();
  at::Tensor out = at::empty_like(x, at::MemoryFormat::Contiguous);
  if (x.numel() == 0) return out;
  const int64_t W = x.size(-1), rows = x.numel() / W;
  AT_DISPATCH_FLOATING_TYPES_AND3(at::kHalf, at::kBFloat16, at::kByte, x.scalar_type(), "decalcomanie", [&] {
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / W), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const scalar_t* a = src + r * W;
        scalar_t* o = dst + r * W;
        for (int64_t w = 0; w < W; ++w) o[w] = a[mirror_column(view, w, W)];
      }
    });
  });
  return out;
}

at::Tensor decalcomanie_backward_cpu(const at::Tensor& g_in, std::string_view side) {
  const int view = decalcomanie_side(side);
  check_decalcomanie(g_in, "decalcomanie_backward");
  TORCH_CHECK_VALUE(at::isFloatingType(g_in.scalar_type()),
                    "decalcomanie_backward: grad must be floating, got ", g_in.scalar_type());
  const at::Tensor g = g_in.contiguous();
  at::Tensor out = at::empty_like(g, at::MemoryFormat::Contiguous);
  if (g.numel() == 0) return out;
  const int64_t W = g.size(-1), rows = g.numel() / W;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "decalcomanie_bw", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const scalar_t* src = g.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / W), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const scalar_t* a = src + r * W;
        scalar_t* o = dst + r * W;
        for (int64_t j = 0; j < W; ++j) {
          const int64_t m = W - 1 - j;
          opmath_t acc = mirror_column(view, j, W) == j ? static_cast<opmath_t>(a[j]) : opmath_t(0);
          if (m != j && mirror_column(view, m, W) == j) acc += static_cast<opmath_t>(a[m]);
          o[j] = static_cast<scalar_t>(acc);
        }
      }
    });
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(mer_fast, CPU, m) {
  m.impl("decalcomanie", &decalcomanie_cpu);
  m.impl("decalcomanie_backward", &decalcomanie_backward_cpu);
}

}  // namespace mer_fast
