// CPU kernel of clip_views / clip_views_packed.
//
// Work is split over output frames (clip n, time t) with at::parallel_for. The spatial sampling of
// a clip (rows, columns and bilinear weights of every output pixel, per view) depends only on
// the clip's theta, so it is tabulated once per clip and reused for all its t_out frames; each
// output value is then 8 uint8 taps (2 frames x 4 corners) blended in float.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <c10/util/irange.h>
#include <torch/library.h>

#include <vector>

#include "checks.h"

namespace mer_fast {
namespace {

struct PixelTaps {
  int64_t row0, row1;             // y0 * stride_h, y1 * stride_h
  int64_t col0[kMaxViews];        // mirrored x0 * stride_w, per view
  int64_t col1[kMaxViews];        // mirrored x1 * stride_w, per view
  float wy0, wy1, wx0, wx1;
};

void tabulate_clip(const ClipViewsParams& p, int64_t n, std::vector<PixelTaps>& table) {
  table.resize(static_cast<size_t>(p.h * p.w));
  PixelTaps* out = table.data();
  for (const auto y : c10::irange(p.h)) {
    for (const auto x : c10::irange(p.w)) {
      float sx, sy;
      sample_position(p, n, y, x, &sx, &sy);
      const AxisTaps ax = axis_taps(sx, p.W);
      const AxisTaps ay = axis_taps(sy, p.H);
      PixelTaps& t = *out++;
      t.row0 = ay.i0 * p.stride_h;
      t.row1 = ay.i1 * p.stride_h;
      t.wy0 = ay.w0;
      t.wy1 = ay.w1;
      t.wx0 = ax.w0;
      t.wx1 = ax.w1;
      for (const auto v : c10::irange(p.V)) {
        t.col0[v] = mirror_column(p.views[v], ax.i0, p.W) * p.stride_w;
        t.col1[v] = mirror_column(p.views[v], ax.i1, p.W) * p.stride_w;
      }
    }
  }
}

inline float bilinear(const uint8_t* f, const PixelTaps& t, int64_t c0, int64_t c1) {
  const float top = t.wx0 * static_cast<float>(f[t.row0 + c0]) +
                    t.wx1 * static_cast<float>(f[t.row0 + c1]);
  const float bot = t.wx0 * static_cast<float>(f[t.row1 + c0]) +
                    t.wx1 * static_cast<float>(f[t.row1 + c1]);
  return t.wy0 * top + t.wy1 * bot;
}

template <typename out_t, int C>
void clip_views_kernel(const ClipViewsParams& p, out_t* out) {
  const int64_t plane = p.h * p.w;
  const int64_t frame_stride = plane;                   // between output frames t
  const int64_t channel_stride = p.t_out * plane;       // between output channels
  const int64_t view_stride = p.N * C * channel_stride; // between views
  at::parallel_for(0, p.N * p.t_out, 1, [&](int64_t begin, int64_t end) {
    std::vector<PixelTaps> table;
    int64_t tabulated = -1;
    for (int64_t job = begin; job < end; ++job) {
      const int64_t n = job / p.t_out;
      const int64_t t = job % p.t_out;
      if (n != tabulated) {
        tabulate_clip(p, n, table);
        tabulated = n;
      }
      const FramePair fp = frame_pair(p, n, t);
      for (const auto v : c10::irange(p.V)) {
        out_t* o = out + v * view_stride + n * C * channel_stride + t * frame_stride;
        for (const auto i : c10::irange(plane)) {
          const PixelTaps& tp = table[i];
          const int64_t c0 = tp.col0[v], c1 = tp.col1[v];
#pragma unroll
          for (int c = 0; c < C; ++c) {
            const int64_t cs = c * p.stride_c;
            float val = bilinear(fp.f0 + cs, tp, c0, c1);
            if (fp.two) val = fp.w0 * val + fp.w1 * bilinear(fp.f1 + cs, tp, c0, c1);
            o[c * channel_stride + i] = static_cast<out_t>(val * p.scale[c] + p.bias[c]);
          }
        }
      }
    }
  });
}

at::Tensor run(const PreparedClipViews& prep, const at::Tensor& frames, const char* fn) {
  at::Tensor out = allocate_output(fn, prep.out_shape, frames.options().dtype(prep.dtype));
  if (out.numel() == 0) return out;
  const ClipViewsParams& p = prep.params;
  MER_FAST_DISPATCH_OUTPUT_TYPES(prep.dtype, "clip_views_cpu", [&] {
    if (p.C == 1) {
      clip_views_kernel<scalar_t, 1>(p, out.data_ptr<scalar_t>());
    } else {
      clip_views_kernel<scalar_t, 3>(p, out.data_ptr<scalar_t>());
    }
  });
  return out;
}

at::Tensor clip_views_cpu(const at::Tensor& frames, int64_t t_out, at::IntArrayRef size,
                          std::string_view views, at::ArrayRef<double> mean,
                          at::ArrayRef<double> std, const std::optional<at::Tensor>& theta,
                          at::ScalarType dtype, std::string_view padding) {
  const auto prep =
      prepare_clip_views(frames, std::nullopt, t_out, size, views, mean, std, theta, dtype,
                         padding);
  return run(prep, frames, "clip_views");
}

at::Tensor clip_views_packed_cpu(const at::Tensor& frames, const at::Tensor& offsets,
                                 int64_t t_out, at::IntArrayRef size, std::string_view views,
                                 at::ArrayRef<double> mean, at::ArrayRef<double> std,
                                 const std::optional<at::Tensor>& theta, at::ScalarType dtype,
                                 std::string_view padding) {
  const auto prep =
      prepare_clip_views(frames, offsets, t_out, size, views, mean, std, theta, dtype,
                         padding);
  return run(prep, frames, "clip_views_packed");
}

}  // namespace

TORCH_LIBRARY_IMPL(mer_fast, CPU, m) {
  m.impl("clip_views", &clip_views_cpu);
  m.impl("clip_views_packed", &clip_views_packed_cpu);
}

}  // namespace mer_fast
