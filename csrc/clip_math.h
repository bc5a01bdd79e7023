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

// Float products and sums that are never fused into an FMA: nvcc contracts a * b + c by default
// (-fmad=true) and the host compiler does not (ISO C++ mode), so the sampling positions below use
// these to round the same way on the CPU and on CUDA.
MF_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

MF_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// True for a finite float (not NaN, not +-inf), in host and device code alike.
MF_HD bool is_finite(float v) { return v - v == 0.f; }

// Two source frames and their weights for output frame t (PyTorch's linear, align_corners=False:
// src = (T / t_out) * (t + 0.5) - 0.5, clamped at 0; index1 = index0 + 1 unless at the end).
// src is computed exactly, as the fraction (T * (2t + 1) - t_out) / (2 t_out) of two integers, so
// its whole part is exact and each weight is one correctly rounded division (rem / den or
// (den - rem) / den): the weights are within half an ulp of the true ones for every clip length
// (the float32 rounding of src would grow with T), with the same integer and IEEE arithmetic on
// the CPU and CUDA. acc_t is the precision of the weights: float, or double for float64 tensors.
// Needs 1 <= t_out <= kMaxTimeLength and 1 <= T <= kMaxClipFrames (checks.cpp), which keeps
// T * (2 t_out) below 2^62 and 2 t_out exact in a float.
constexpr int64_t kMaxTimeLength = int64_t(1) << 20;
constexpr int64_t kMaxClipFrames = int64_t(1) << 40;

template <typename acc_t>
struct TemporalTapsT {
  int64_t t0, t1;
  acc_t w0, w1;
};
using TemporalTaps = TemporalTapsT<float>;

template <typename acc_t = float>
MF_HD TemporalTapsT<acc_t> temporal_taps(int64_t T, int64_t t_out, int64_t t) {
  const int64_t den = 2 * t_out;
  const int64_t num = T * (2 * t + 1) - t_out;  // src = num / den
  int64_t i0 = 0, rem = 0;
  if (num > 0) {  // src < 0 is clamped to 0
    i0 = num / den;
    rem = num - i0 * den;
  }
  if (i0 > T - 1) {  // never for t < t_out (src < T - 1/2); a guard against any misuse
    i0 = T - 1;
    rem = 0;
  }
  TemporalTapsT<acc_t> taps;
  taps.t0 = i0;
  taps.t1 = i0 + ((i0 < T - 1) ? 1 : 0);
  taps.w1 = static_cast<acc_t>(rem) / static_cast<acc_t>(den);
  taps.w0 = static_cast<acc_t>(den - rem) / static_cast<acc_t>(den);
  return taps;
}

// Normalised output coordinate of pixel i of n (affine_grid's base grid, align_corners=False).
MF_HD float base_coord(int64_t i, int64_t n) {
  return add_rn(mul_rn(2.f, static_cast<float>(i)), 1.f) / static_cast<float>(n) - 1.f;
}

// grid_sample's unnormalise (align_corners=False), then the padding: "border" clips the position
// to [0, size - 1]; "zeros" keeps it (clipped to [-1, size], which changes no output: a position
// beyond either bound has both taps outside the frame) and axis_taps gives outside taps weight 0.
MF_HD float source_coord(float g, int64_t size, int padding) {
  const float s = mul_rn(add_rn(mul_rn(add_rn(g, 1.f), static_cast<float>(size)), -1.f), 0.5f);
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
// A clip whose theta has a NaN or infinite entry gets NaN positions, so every pixel of it comes
// out NaN (in every view and frame) on the CPU and on CUDA alike: defined, never a read outside
// the frame, and no host-device sync to check theta. (Finite theta cannot give a NaN position:
// |gx0|, |gy0| < 1, so the products are finite and a sum that overflows is +-inf, which the
// padding's clip handles like any far position.)
MF_HD void sample_position(const ClipViewsParams& p, int64_t n, int64_t y, int64_t x,
                           float* sx, float* sy) {
  const float gx0 = base_coord(x, p.w);
  const float gy0 = base_coord(y, p.h);
  float gx = gx0, gy = gy0;
  if (p.theta != nullptr) {
    const float* th = p.theta + n * 6;
    for (int k = 0; k < 6; ++k) {
      if (!is_finite(th[k])) {
        *sx = *sy = th[k] - th[k];  // NaN
        return;
      }
    }
    gx = add_rn(add_rn(mul_rn(th[0], gx0), mul_rn(th[1], gy0)), th[2]);
    gy = add_rn(add_rn(mul_rn(th[3], gx0), mul_rn(th[4], gy0)), th[5]);
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

// The two stored frames output frame t of clip n blends (linear interpolation in time), their
// weights, and whether the second one contributes at all.
struct FramePair {
  const uint8_t* f0;
  const uint8_t* f1;
  float w0, w1;
  bool two;  // w1 != 0 and f1 is another frame than f0
};

MF_HD FramePair frame_pair(const ClipViewsParams& p, int64_t n, int64_t t) {
  int64_t base, T;
  clip_extent(p, n, &base, &T);
  const TemporalTaps tt = temporal_taps(T, p.t_out, t);
  FramePair fp;
  fp.f0 = p.frames + base + tt.t0 * p.stride_t;
  fp.f1 = p.frames + base + tt.t1 * p.stride_t;
  fp.w0 = tt.w0;
  fp.w1 = tt.w1;
  fp.two = tt.w1 != 0.f && tt.t1 != tt.t0;
  return fp;
}

}  // namespace mer_fast
