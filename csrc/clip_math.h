// The arithmetic of the fused clip op, shared by the CPU and CUDA kernels so that both compute
// exactly the same function. Each helper mirrors one PyTorch definition that the Python
// reference (mer_fast/ops/reference.py) calls:
//   temporal_taps   -> F.interpolate(mode="linear", align_corners=False) along time
//   source_coord    -> F.affine_grid(align_corners=False) + F.grid_sample's unnormalise, with its
//                      "border" clip or "zeros" padding (axis_taps gives out-of-frame taps weight 0)
//   mirror_column   -> Décalcomanie (O / L / R)
// Every index these helpers return is inside the frame whatever the inputs (NaN, inf, huge
// values): the kernels never read outside the frames.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__CUDACC__)
#define MF_HD __host__ __device__ __forceinline__
#else
#define MF_HD inline
#endif

namespace mer_fast {

constexpr int kMaxViews = 3;
constexpr int kMaxChannels = 3;

enum ViewCode : int { kViewO = 0, kViewL = 1, kViewR = 2 };

// What a sample outside the frame reads (F.grid_sample's padding_mode): the nearest border pixel,
// or 0 in uint8 space (black before normalisation, as torchvision's RandomRotation(fill=0)).
enum PaddingCode : int { kPadBorder = 0, kPadZeros = 1 };

// Everything a clip_views kernel needs, with element (not byte) strides so that any strided
// uint8 tensor works without a copy.
struct ClipViewsParams {
  const uint8_t* frames = nullptr;
  const int64_t* offsets = nullptr;  // packed: first frame of each clip, N+1 entries; or nullptr
  int64_t T = 0;                     // frames per clip when offsets == nullptr
  int64_t stride_n = 0, stride_t = 0, stride_h = 0, stride_w = 0, stride_c = 0;
  int64_t N = 0, H = 0, W = 0, C = 0;
  int64_t t_out = 0, h = 0, w = 0;
  int V = 0;
  int views[kMaxViews] = {0, 0, 0};
  float scale[kMaxChannels] = {1.f, 1.f, 1.f};  // 1 / (255 * std[c])
  float bias[kMaxChannels] = {0.f, 0.f, 0.f};   // -mean[c] / std[c]
  const float* theta = nullptr;                  // [N, 2, 3] float32 contiguous, or identity
  int padding = kPadBorder;                      // PaddingCode
};

// True for a finite float (not NaN, not +-inf), in host and device code alike.
MF_HD bool is_finite(float v) { return v - v == 0.f; }

// Two source frames and their weights for output frame t (PyTorch's linear, align_corners=False:
// src = (T / t_out) * (t + 0.5) - 0.5, clamped at 0; index1 = index0 + 1 unless at the end).
// acc_t is the precision of the weights: float, or double for float64 tensors.
template <typename acc_t>
struct TemporalTapsT {
  int64_t t0, t1;
  acc_t w0, w1;
};
using TemporalTaps = TemporalTapsT<float>;

template <typename acc_t = float>
MF_HD TemporalTapsT<acc_t> temporal_taps(int64_t T, int64_t t_out, int64_t t) {
  const acc_t ratio = static_cast<acc_t>(T) / static_cast<acc_t>(t_out);
  acc_t src = ratio * (static_cast<acc_t>(t) + acc_t(0.5)) - acc_t(0.5);
  if (src < acc_t(0)) src = acc_t(0);
  int64_t i0 = static_cast<int64_t>(src);
  if (i0 > T - 1) i0 = T - 1;
  acc_t l1 = src - static_cast<acc_t>(i0);
  l1 = l1 < acc_t(0) ? acc_t(0) : (l1 > acc_t(1) ? acc_t(1) : l1);
  TemporalTapsT<acc_t> taps;
  taps.t0 = i0;
  taps.t1 = i0 + ((i0 < T - 1) ? 1 : 0);
  taps.w1 = l1;
  taps.w0 = acc_t(1) - l1;
  return taps;
}

// Normalised output coordinate of pixel i of n (affine_grid's base grid, align_corners=False).
MF_HD float base_coord(int64_t i, int64_t n) {
  return (2.f * static_cast<float>(i) + 1.f) / static_cast<float>(n) - 1.f;
}

// grid_sample's unnormalise (align_corners=False), then the padding: "border" clips the position
// to [0, size - 1]; "zeros" keeps it (clipped to [-1, size], which changes no output: a position
// beyond either bound has both taps outside the frame) and axis_taps gives outside taps weight 0.
MF_HD float source_coord(float g, int64_t size, int padding) {
  const float s = ((g + 1.f) * static_cast<float>(size) - 1.f) * 0.5f;
  const float lo = padding == kPadZeros ? -1.f : 0.f;
  const float hi = padding == kPadZeros ? static_cast<float>(size) : static_cast<float>(size - 1);
  return s < lo ? lo : (s > hi ? hi : s);  // NaN stays NaN (both comparisons are false)
}

// Bilinear corner indices and weights along one axis: taps floor(s) and floor(s) + 1 with weights
// 1 - frac and frac; a tap outside [0, size - 1] gets weight 0 and a clamped index, so every index
// is inside the frame. A NaN position gives NaN weights (and index 0), so the pixel comes out NaN.
struct AxisTaps {
  int64_t i0, i1;
  float w0, w1;
};

MF_HD AxisTaps axis_taps(float s, int64_t size) {
  AxisTaps a;
  if (!(s == s)) {  // NaN
    a.i0 = a.i1 = 0;
    a.w0 = a.w1 = s;
    return a;
  }
  // Callers pass s within [-1, size] (source_coord); the clip repeats it so that the conversion to
  // an integer is defined for any s.
  const float hi = static_cast<float>(size);
  s = s < -1.f ? -1.f : (s > hi ? hi : s);
  const float f = floorf(s);
  const int64_t i0 = static_cast<int64_t>(f);
  const int64_t i1 = i0 + 1;
  const float w1 = s - f;
  const bool in0 = i0 >= 0 && i0 < size, in1 = i1 >= 0 && i1 < size;
  a.i0 = i0 < 0 ? 0 : (i0 > size - 1 ? size - 1 : i0);
  a.i1 = i1 < 0 ? 0 : (i1 > size - 1 ? size - 1 : i1);
  a.w0 = in0 ? 1.f - w1 : 0.f;
  a.w1 = in1 ? w1 : 0.f;
  return a;
}

// Décalcomanie at the native width W: L copies the left half onto the right (mirrored),
// R the right half onto the left; the middle column of an odd W stays.
MF_HD int64_t mirror_column(int view, int64_t x, int64_t W) {
  const int64_t m = W - 1 - x;
  if (view == kViewL) return x < m ? x : m;
  if (view == kViewR) return x > m ? x : m;
  return x;
}

// Sampling position (in source pixels, after the padding's clip) of output pixel (y, x) of clip n.
MF_HD void sample_position(const ClipViewsParams& p, int64_t n, int64_t y, int64_t x,
                           float* sx, float* sy) {
  const float gx0 = base_coord(x, p.w);
  const float gy0 = base_coord(y, p.h);
  float gx = gx0, gy = gy0;
  if (p.theta != nullptr) {
    const float* th = p.theta + n * 6;
    gx = th[0] * gx0 + th[1] * gy0 + th[2];
    gy = th[3] * gx0 + th[4] * gy0 + th[5];
  }
  *sx = source_coord(gx, p.W, p.padding);
  *sy = source_coord(gy, p.H, p.padding);
}

// First frame (element offset) and length of clip n.
MF_HD void clip_extent(const ClipViewsParams& p, int64_t n, int64_t* base, int64_t* T) {
  if (p.offsets != nullptr) {
    const int64_t first = p.offsets[n];
    *T = p.offsets[n + 1] - first;
    *base = first * p.stride_t;
  } else {
    *T = p.T;
    *base = n * p.stride_n;
  }
}

}  // namespace mer_fast
