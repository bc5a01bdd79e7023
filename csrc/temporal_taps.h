// Tables for temporal_resize's backward: for each input frame, the output frames that read it
// and their weights (a CSR list built on the host from the same temporal_taps as the forward),
// so the backward is a gather with no atomics and a fixed summation order.
#pragma once
#include <ATen/ATen.h>

#include <utility>
#include <vector>

#include "clip_math.h"

namespace mer_fast {

struct TemporalAdjoint {
  at::Tensor start;   // int64 [t_in + 1]
  at::Tensor src;     // int64 [nnz], output frame
  at::Tensor weight;  // float64 [nnz] (the forward's weights, exactly)
};

// acc_t: the precision the forward computes its weights in (double for float64 tensors).
template <typename acc_t>
TemporalAdjoint temporal_adjoint(int64_t t_in, int64_t t_out) {
  std::vector<std::vector<std::pair<int64_t, double>>> lists(static_cast<size_t>(t_in));
  for (int64_t t = 0; t < t_out; ++t) {
    const auto tt = temporal_taps<acc_t>(t_in, t_out, t);
    lists[tt.t0].emplace_back(t, tt.w0);
    lists[tt.t1].emplace_back(t, tt.w1);
  }
  TemporalAdjoint a;
  a.start = at::empty({t_in + 1}, at::kLong);
  a.src = at::empty({2 * t_out}, at::kLong);
  a.weight = at::empty({2 * t_out}, at::kDouble);
  int64_t* st = a.start.data_ptr<int64_t>();
  int64_t* sr = a.src.data_ptr<int64_t>();
  double* wt = a.weight.data_ptr<double>();
  int64_t k = 0;
  for (int64_t i = 0; i < t_in; ++i) {
    st[i] = k;
    for (const auto& e : lists[i]) {
      sr[k] = e.first;
      wt[k] = e.second;
      ++k;
    }
  }
  st[t_in] = k;
  return a;
}

}  // namespace mer_fast
