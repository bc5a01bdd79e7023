// dev_ptr<T>: a kernel's pointer argument that knows the buffer it points into.
//
// tools/cuda_on_cpu.py rewrites every pointer parameter of a __global__ function, `T* name`, to
// `::cuda_on_cpu::dev_ptr<T> name`; the launcher makes each from the raw pointer the host code
// passes and the tensor allocation that holds it. Every access through it, and every pointer
// derived from it by arithmetic, is checked against that allocation: a kernel that reads or
// writes outside its buffer stops with an error naming the kernel, the argument, the block,
// the thread and the offset. Converting to a raw T* is allowed (for __device__ helpers) and
// checked once, at the conversion.
#pragma once
#include <c10/util/Exception.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cuda_on_cpu/builtins.h"

namespace cuda_on_cpu {

template <typename T>
class dev_ptr {
 public:
  using element_type = T;

  dev_ptr() = default;
  dev_ptr(T* p, uintptr_t lo, uintptr_t hi, int arg) : p_(p), lo_(lo), hi_(hi), arg_(arg) {}

  // The launcher's conversion of kernel argument `arg`: p must be null or inside a live tensor
  // allocation.
  static dev_ptr argument(T* p, int arg, const char* kernel) {
    if (p == nullptr) return dev_ptr(nullptr, 0, 0, arg);
    uintptr_t lo = 0, hi = 0;
    TORCH_CHECK(find_allocation(p, &lo, &hi), "cuda_on_cpu: pointer argument #", arg,
                " of kernel ", kernel,
                " points into no tensor allocated while the executor tracks allocations; call "
                "the op through tests/cuda_on_cpu.py (it re-allocates every input)");
    return dev_ptr(p, lo, hi, arg);
  }

  T& operator[](std::ptrdiff_t i) const { return *checked(p_ + i); }
  T& operator*() const { return *checked(p_); }
  T* operator->() const { return checked(p_); }

  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  dev_ptr operator+(I k) const {
    return dev_ptr(p_ + k, lo_, hi_, arg_);
  }
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  dev_ptr operator-(I k) const {
    return dev_ptr(p_ - k, lo_, hi_, arg_);
  }
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  friend dev_ptr operator+(I k, const dev_ptr& d) {
    return d + k;
  }
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  dev_ptr& operator+=(I k) {
    p_ += k;
    return *this;
  }
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  dev_ptr& operator-=(I k) {
    p_ -= k;
    return *this;
  }
  dev_ptr& operator++() { return *this += 1; }
  dev_ptr& operator--() { return *this -= 1; }
  std::ptrdiff_t operator-(const dev_ptr& o) const { return p_ - o.p_; }
  bool operator==(const dev_ptr& o) const { return p_ == o.p_; }
  bool operator!=(const dev_ptr& o) const { return p_ != o.p_; }
  bool operator<(const dev_ptr& o) const { return p_ < o.p_; }
  explicit operator bool() const { return p_ != nullptr; }

  // A raw pointer for code that takes one: it must lie within the buffer (or one past its end).
  operator T*() const {  // NOLINT: implicit, as a raw pointer argument would be
    if (p_ == nullptr) return nullptr;
    const auto a = reinterpret_cast<uintptr_t>(p_);
    TORCH_CHECK(a >= lo_ && a <= hi_, "cuda_on_cpu: ", where(), ": pointer argument #", arg_,
                " moved ", offset(), " elements from the start of its buffer of ", size(),
                " elements before it was converted to a raw pointer");
    return p_;
  }

  T* get() const { return p_; }

 private:
  std::ptrdiff_t offset() const {
    return (reinterpret_cast<intptr_t>(p_) - static_cast<intptr_t>(lo_)) /
           static_cast<intptr_t>(sizeof(T));
  }
  std::ptrdiff_t size() const { return static_cast<std::ptrdiff_t>((hi_ - lo_) / sizeof(T)); }

  T* checked(T* q) const {
    const auto a = reinterpret_cast<uintptr_t>(q);
    if (C10_UNLIKELY(q == nullptr || a < lo_ || a + sizeof(T) > hi_)) {
      const auto off = (static_cast<intptr_t>(a) - static_cast<intptr_t>(lo_)) /
                       static_cast<intptr_t>(sizeof(T));
      TORCH_CHECK(false, "cuda_on_cpu: ", where(), ": access to element ", off,
                  " of pointer argument #", arg_, ", a buffer of ", size(), " elements",
                  p_ == nullptr && lo_ == 0 ? " (a null pointer)" : " (out of bounds)");
    }
    return q;
  }

  T* p_ = nullptr;
  uintptr_t lo_ = 0, hi_ = 0;  // the allocation's bytes [lo, hi)
  int arg_ = -1;
};

}  // namespace cuda_on_cpu

template <typename T>
inline T __ldg(::cuda_on_cpu::dev_ptr<const T> p) {
  return *p;
}
