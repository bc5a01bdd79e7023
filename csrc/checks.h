// Argument checks shared by every backend: each failure names the argument, what it got and what
// it needs (TORCH_CHECK raises a Python RuntimeError; value errors raise ValueError).
#pragma once
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>

#include <optional>
#include <string_view>
#include <vector>

#include "clip_math.h"

// Dispatch over the output dtypes clip_views writes (float32, float16, bfloat16).
#define MER_FAST_DISPATCH_OUTPUT_TYPES(TYPE, NAME, ...)              \
  AT_DISPATCH_SWITCH(TYPE, NAME,                                     \
                     AT_DISPATCH_CASE(at::kFloat, __VA_ARGS__)       \
                     AT_DISPATCH_CASE(at::kHalf, __VA_ARGS__)        \
                     AT_DISPATCH_CASE(at::kBFloat16, __VA_ARGS__))

namespace mer_fast {

// Validated inputs of clip_views / clip_views_packed, ready for a kernel.
struct PreparedClipViews {
  ClipViewsParams params;
  std::vector<int64_t> out_shape;  // [V, N, C, t_out, h, w]
  at::Tensor theta;                // float32 contiguous on the frames' device (keeps it alive)
  at::Tensor offsets;              // int64 contiguous on the frames' device (keeps it alive)
  at::ScalarType dtype;
};

// offsets: nullopt for the [N, T, H, W, C] form, the packed offsets otherwise.
PreparedClipViews prepare_clip_views(const at::Tensor& frames,
                                     const std::optional<at::Tensor>& offsets, int64_t t_out,
                                     at::IntArrayRef size, std::string_view views,
                                     at::ArrayRef<double> mean, at::ArrayRef<double> std,
                                     const std::optional<at::Tensor>& theta,
                                     at::ScalarType dtype, std::string_view padding);

void check_temporal_resize(const at::Tensor& x, int64_t t_out, const char* name);
int decalcomanie_side(std::string_view side);
void check_decalcomanie(const at::Tensor& x, const char* name);

}  // namespace mer_fast
