#include "checks.h"

#include <c10/util/irange.h>

#include <cmath>
#include <sstream>

namespace mer_fast {
namespace {

std::string shape_str(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

}  // namespace

PreparedClipViews prepare_clip_views(const at::Tensor& frames,
                                     const std::optional<at::Tensor>& offsets, int64_t t_out,
                                     at::IntArrayRef size, std::string_view views,
                                     at::ArrayRef<double> mean, at::ArrayRef<double> std,
                                     const std::optional<at::Tensor>& theta,
                                     at::ScalarType dtype, std::string_view padding) {
  const bool packed = offsets.has_value();
  const char* fn = packed ? "clip_views_packed" : "clip_views";
  const int64_t want_dim = packed ? 4 : 5;
  const char* layout = packed ? "[sum_T, H, W, C]" : "[N, T, H, W, C]";
  TORCH_CHECK_VALUE(frames.scalar_type() == at::kByte, fn, ": frames must be uint8 ", layout,
                    " as decoders return them, got dtype ", frames.scalar_type(),
                    "; convert with frames.to(torch.uint8) if they hold 0-255 values");
  TORCH_CHECK_VALUE(frames.dim() == want_dim, fn, ": frames must have rank ", want_dim, " ",
                    layout, ", got shape ", shape_str(frames));
  const int64_t C = frames.size(-1);
  TORCH_CHECK_VALUE(C == 1 || C == 3, fn, ": frames must have 1 or 3 channels (last dim), got ",
                    C, " in shape ", shape_str(frames), "; frames are channels-last");
  const int64_t H = frames.size(-3), W = frames.size(-2);
  TORCH_CHECK_VALUE(t_out >= 1, fn, ": t_out must be >= 1, got ", t_out);
  TORCH_CHECK_VALUE(size.size() == 2, fn, ": size must be (h, w), got ", size.size(),
                    " values");
  TORCH_CHECK_VALUE(size[0] >= 1 && size[1] >= 1, fn, ": size must be positive, got (", size[0],
                    ", ", size[1], ")");
  TORCH_CHECK_VALUE(!views.empty(), fn,
                    ": views must name at least one of 'O', 'L', 'R', got an empty string");
  TORCH_CHECK_VALUE(views.size() <= 3, fn,
                    ": views must be an ordered subset of 'OLR' (at most 3 letters), got '",
                    std::string(views), "'");

  PreparedClipViews prep;
  ClipViewsParams& p = prep.params;
  p.V = static_cast<int>(views.size());
  for (const auto i : c10::irange(views.size())) {
    const char c = views[i];
    int code = c == 'O' ? kViewO : c == 'L' ? kViewL : c == 'R' ? kViewR : -1;
    TORCH_CHECK_VALUE(code >= 0, fn, ": views may contain only 'O', 'L' and 'R', got '", c,
                      "' in '", std::string(views), "'");
    for (const auto j : c10::irange(i)) {
      TORCH_CHECK_VALUE(p.views[j] != code, fn, ": views must not repeat a view, got '",
                        std::string(views), "'");
    }
    p.views[i] = code;
  }

  TORCH_CHECK_VALUE(mean.size() == 1 || static_cast<int64_t>(mean.size()) == C, fn,
                    ": mean must have 1 or C=", C, " values, got ", mean.size());
  TORCH_CHECK_VALUE(std.size() == 1 || static_cast<int64_t>(std.size()) == C, fn,
                    ": std must have 1 or C=", C, " values, got ", std.size());
  for (const auto c : c10::irange(C)) {
    const double m = mean[mean.size() == 1 ? 0 : c];
    const double s = std[std.size() == 1 ? 0 : c];
    TORCH_CHECK_VALUE(std::isfinite(s) && s > 0, fn, ": std[", c, "] must be a positive number, got ",
                      s);
    TORCH_CHECK_VALUE(std::isfinite(m), fn, ": mean[", c, "] must be finite, got ", m);
    p.scale[c] = static_cast<float>(1.0 / (255.0 * s));
    p.bias[c] = static_cast<float>(-m / s);
  }
  TORCH_CHECK_VALUE(dtype == at::kFloat || dtype == at::kHalf || dtype == at::kBFloat16, fn,
                    ": dtype must be torch.float32, torch.float16 or torch.bfloat16, got ", dtype);
  prep.dtype = dtype;
  TORCH_CHECK_VALUE(padding == "border" || padding == "zeros", fn,
                    ": padding must be 'border' (a sample outside the frame repeats the edge) or "
                    "'zeros' (it reads 0, black), got '",
                    std::string(padding), "'");
  p.padding = padding == "zeros" ? kPadZeros : kPadBorder;

  int64_t N;
  if (packed) {
    const at::Tensor& off = *offsets;
    TORCH_CHECK_VALUE(off.dim() == 1 && off.size(0) >= 1, fn,
                      ": offsets must be a 1-D tensor of N+1 clip starts, got shape ",
                      shape_str(off));
    TORCH_CHECK_VALUE(off.scalar_type() == at::kLong || off.scalar_type() == at::kInt, fn,
                      ": offsets must be int64 (or int32), got ", off.scalar_type());
    TORCH_CHECK_VALUE(off.device().is_cpu() || off.device() == frames.device(), fn,
                      ": offsets must be on the CPU or on the frames' device ", frames.device(),
                      ", got ", off.device());
    const at::Tensor host = off.to(at::kCPU, at::kLong).contiguous();
    const int64_t* o = host.data_ptr<int64_t>();
    N = host.size(0) - 1;
    TORCH_CHECK_VALUE(o[0] == 0, fn, ": offsets must start at 0, got offsets[0] = ", o[0]);
    for (const auto i : c10::irange(N)) {
      TORCH_CHECK_VALUE(o[i + 1] > o[i], fn,
                        ": offsets must be strictly increasing (every clip needs a frame), got "
                        "offsets[",
                        i, "] = ", o[i], " and offsets[", i + 1, "] = ", o[i + 1]);
    }
    TORCH_CHECK_VALUE(o[N] == frames.size(0), fn, ": offsets must end at sum_T = frames.size(0) = ",
                      frames.size(0), ", got offsets[", N, "] = ", o[N]);
    prep.offsets = off.device() == frames.device() && off.scalar_type() == at::kLong
                       ? off.contiguous()
                       : host.to(frames.device());
    p.offsets = N > 0 ? prep.offsets.data_ptr<int64_t>() : nullptr;
    p.T = 0;
    p.stride_n = 0;
    p.stride_t = frames.stride(0);
    p.stride_h = frames.stride(1);
    p.stride_w = frames.stride(2);
    p.stride_c = frames.stride(3);
  } else {
    N = frames.size(0);
    p.T = frames.size(1);
    TORCH_CHECK_VALUE(N == 0 || p.T >= 1, fn, ": every clip needs at least one frame, got T = ",
                      p.T, " in shape ", shape_str(frames));
    p.stride_n = frames.stride(0);
    p.stride_t = frames.stride(1);
    p.stride_h = frames.stride(2);
    p.stride_w = frames.stride(3);
    p.stride_c = frames.stride(4);
  }
  TORCH_CHECK_VALUE(N == 0 || (H >= 1 && W >= 1), fn, ": frames must have H, W >= 1, got shape ",
                    shape_str(frames));

  if (theta.has_value()) {
    const at::Tensor& th = *theta;
    TORCH_CHECK_VALUE(th.dim() == 3 && th.size(0) == N && th.size(1) == 2 && th.size(2) == 3, fn,
                      ": theta must be [N, 2, 3] = [", N, ", 2, 3] (one affine per clip), got ",
                      shape_str(th));
    TORCH_CHECK_VALUE(at::isFloatingType(th.scalar_type()), fn,
                      ": theta must be a floating tensor, got ", th.scalar_type());
    TORCH_CHECK_VALUE(th.device() == frames.device(), fn, ": theta is on ", th.device(),
                      " but frames are on ", frames.device(), "; move theta with .to(frames.device)");
    prep.theta = th.to(at::kFloat).contiguous();
    p.theta = N > 0 ? prep.theta.data_ptr<float>() : nullptr;
  }

  p.frames = frames.numel() > 0 ? frames.data_ptr<uint8_t>() : nullptr;
  p.N = N;
  p.H = H;
  p.W = W;
  p.C = C;
  p.t_out = t_out;
  p.h = size[0];
  p.w = size[1];
  prep.out_shape = {p.V, N, C, t_out, size[0], size[1]};
  return prep;
}

void check_temporal_resize(const at::Tensor& x, int64_t t_out, const char* name) {
  TORCH_CHECK_VALUE(x.dim() == 5, name, ": x must be [N, C, T, H, W], got shape ", shape_str(x));
  TORCH_CHECK_VALUE(at::isFloatingType(x.scalar_type()), name,
                    ": x must be a floating tensor (float16, bfloat16, float32, float64), got ",
                    x.scalar_type());
  TORCH_CHECK_VALUE(t_out >= 1, name, ": the target length must be >= 1, got ", t_out);
  TORCH_CHECK_VALUE(x.numel() == 0 || x.size(2) >= 1, name,
                    ": x must have at least one frame (dim 2), got shape ", shape_str(x));
}

int decalcomanie_side(std::string_view side) {
  TORCH_CHECK_VALUE(side == "L" || side == "R",
                    "decalcomanie: side must be 'L' (left half mirrored onto the right) or 'R' "
                    "(right half mirrored onto the left), got '",
                    std::string(side), "'");
  return side == "L" ? kViewL : kViewR;
}

void check_decalcomanie(const at::Tensor& x, const char* name) {
  TORCH_CHECK_VALUE(x.dim() >= 1, name, ": x must have at least one dimension (the width, last)");
  TORCH_CHECK_VALUE(at::isFloatingType(x.scalar_type()) || x.scalar_type() == at::kByte, name,
                    ": x must be a floating or uint8 tensor, got ", x.scalar_type());
}

}  // namespace mer_fast
