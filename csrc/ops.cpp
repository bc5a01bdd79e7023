// The one registration of mer_fast's operators. Kernels live in cpu/ and cuda/ and register
// themselves with TORCH_LIBRARY_IMPL; fake (meta) kernels and autograd are registered from Python
// (mer_fast/ops/_registration.py), and the plain PyTorch reference is mer_fast/ops/reference.py.
#include <torch/extension.h>

#include <ATen/Parallel.h>

TORCH_LIBRARY(mer_fast, m) {
  // uint8 frames [N, T, H, W, C] -> [V, N, C, t_out, h, w]: linear time interpolation,
  // Décalcomanie views, bilinear affine resampling (padding "border" or "zeros"), normalisation.
  m.def(
      "clip_views(Tensor frames, int t_out, int[2] size, str views, float[] mean, float[] std, "
      "Tensor? theta, ScalarType dtype, str padding=\"border\") -> Tensor");
  // The same for clips of different lengths packed along dim 0: frames [sum_T, H, W, C],
  // offsets [N + 1] (clip n is frames[offsets[n]:offsets[n+1]]).
  m.def(
      "clip_views_packed(Tensor frames, Tensor offsets, int t_out, int[2] size, str views, "
      "float[] mean, float[] std, Tensor? theta, ScalarType dtype, str padding=\"border\") -> "
      "Tensor");
  // Differentiable float ops. x [N, C, T, H, W] -> [N, C, t_out, H, W].
  m.def("temporal_resize(Tensor x, int t_out) -> Tensor");
  m.def("temporal_resize_backward(Tensor grad, int t_in) -> Tensor");
  // Décalcomanie along the last dim (width); side 'L' or 'R'.
  m.def("decalcomanie(Tensor x, str side) -> Tensor");
  m.def("decalcomanie_backward(Tensor grad, str side) -> Tensor");
}

namespace {

pybind11::dict build_info() {
  pybind11::dict d;
#ifdef MER_FAST_WITH_CUDA
  d["cuda"] = true;
#else
  d["cuda"] = false;
#endif
#ifdef _OPENMP
  d["openmp"] = true;
#else
  d["openmp"] = false;
#endif
  d["parallel"] = at::get_parallel_info();
  return d;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "mer_fast kernels; the operators are torch.ops.mer_fast.*";
  m.def("build_info", &build_info, "How the extension was built (CUDA kernels, OpenMP)");
}
