// CUDA kernel of clip_views / clip_views_packed.
//
// One thread per output pixel (clip n, frame t, y, x): grid.x over the pixels of a frame, grid.y
// over the N * t_out output frames, both capped (cuda_utils.cuh) with the threads striding over
// the rest. For its pixel a thread computes the sampling position (theta, padding), then for
// every view and channel blends 8 uint8 taps (2 frames x 4 corners) and writes one normalised
// value. Output writes are coalesced along x; the uint8 taps are read through the read-only
// cache and mostly hit in L1/L2 (neighbouring threads share corners). The arithmetic is
// clip_math.h, the same as the CPU kernel's.
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include "checks.h"
#include "cuda/cuda_utils.cuh"

namespace mer_fast {
namespace {

template <int C>
__device__ __forceinline__ float bilinear(const uint8_t* __restrict__ f, int64_t r0, int64_t r1,
                                          int64_t c0, int64_t c1, float wy0, float wy1,
                                          float wx0, float wx1) {
  const float top = wx0 * static_cast<float>(__ldg(f + r0 + c0)) +
                    wx1 * static_cast<float>(__ldg(f + r0 + c1));
  const float bot = wx0 * static_cast<float>(__ldg(f + r1 + c0)) +
                    wx1 * static_cast<float>(__ldg(f + r1 + c1));
  return wy0 * top + wy1 * bot;
}

template <typename out_t, int C>
__global__ void clip_views_kernel(const ClipViewsParams p, out_t* __restrict__ out) {
  const int64_t plane = p.h * p.w;
  const int64_t jobs = p.N * p.t_out;
  const int64_t channel_stride = p.t_out * plane;
  const int64_t view_stride = p.N * C * channel_stride;
  // Grid-stride over pixels (x) and over output frames (y): the grid is capped in both.
  for (int64_t pix = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; pix < plane;
       pix += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t y = pix / p.w, x = pix % p.w;
    for (int64_t job = blockIdx.y; job < jobs; job += gridDim.y) {
      const int64_t n = job / p.t_out, t = job % p.t_out;
      float sx, sy;
      sample_position(p, n, y, x, &sx, &sy);
      const AxisTaps ax = axis_taps(sx, p.W);
      const AxisTaps ay = axis_taps(sy, p.H);
      const int64_t r0 = ay.i0 * p.stride_h, r1 = ay.i1 * p.stride_h;
      const FramePair fp = frame_pair(p, n, t);
      const int64_t o = n * C * channel_stride + t * plane + pix;
#pragma unroll
      for (int v = 0; v < kMaxViews; ++v) {
        if (v >= p.V) break;
        const int64_t c0 = mirror_column(p.views[v], ax.i0, p.W) * p.stride_w;
        const int64_t c1 = mirror_column(p.views[v], ax.i1, p.W) * p.stride_w;
#pragma unroll
        for (int c = 0; c < C; ++c) {
          const int64_t cs = c * p.stride_c;
          float val = bilinear<C>(fp.f0 + cs, r0, r1, c0, c1, ay.w0, ay.w1, ax.w0, ax.w1);
          if (fp.two) {
            val = fp.w0 * val +
                  fp.w1 * bilinear<C>(fp.f1 + cs, r0, r1, c0, c1, ay.w0, ay.w1, ax.w0, ax.w1);
          }
          out[o + v * view_stride + c * channel_stride] =
              static_cast<out_t>(val * p.scale[c] + p.bias[c]);
        }
      }
    }
  }
}

at::Tensor run(const PreparedClipViews& prep, const at::Tensor& frames, const char* fn) {
  const c10::cuda::CUDAGuard guard(frames.device());
  at::Tensor out = allocate_output(fn, prep.out_shape, frames.options().dtype(prep.dtype));
  if (out.numel() == 0) return out;
  const ClipViewsParams& p = prep.params;
  const dim3 grid(blocks_for(p.h * p.w), grid_y_for(p.N * p.t_out));
  const auto stream = c10::cuda::getCurrentCUDAStream();
  MER_FAST_DISPATCH_OUTPUT_TYPES(prep.dtype, "clip_views_cuda", [&] {
    if (p.C == 1) {
      clip_views_kernel<scalar_t, 1><<<grid, kThreads, 0, stream>>>(p, out.data_ptr<scalar_t>());
    } else {
      clip_views_kernel<scalar_t, 3><<<grid, kThreads, 0, stream>>>(p, out.data_ptr<scalar_t>());
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor clip_views_cuda(const at::Tensor& frames, int64_t t_out, at::IntArrayRef size,
                           std::string_view views, at::ArrayRef<double> mean,
                           at::ArrayRef<double> std, const std::optional<at::Tensor>& theta,
                           at::ScalarType dtype, std::string_view padding) {
  const auto prep =
      prepare_clip_views(frames, std::nullopt, t_out, size, views, mean, std, theta, dtype,
                         padding);
  return run(prep, frames, "clip_views");
}

at::Tensor clip_views_packed_cuda(const at::Tensor& frames, const at::Tensor& offsets,
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

TORCH_LIBRARY_IMPL(mer_fast, CUDA, m) {
  m.impl("clip_views", &clip_views_cuda);
  m.impl("clip_views_packed", &clip_views_packed_cuda);
}

}  // namespace mer_fast
