// cuda_on_cpu's stand-in for c10/cuda/CUDAGuard.h: a guard only counts as live (the launcher
// refuses a launch without one). The executor's tensors are on the CPU, so any device is taken.
#pragma once
#include <c10/core/Device.h>

#include <optional>

#include "c10/cuda/CUDAStream.h"

namespace cuda_on_cpu {
void guard_enter();
void guard_exit() noexcept;
}  // namespace cuda_on_cpu

namespace c10 {
namespace cuda {

struct CUDAGuard {
  explicit CUDAGuard() = delete;
  explicit CUDAGuard(DeviceIndex /*device_index*/) { ::cuda_on_cpu::guard_enter(); }
  explicit CUDAGuard(Device /*device*/) { ::cuda_on_cpu::guard_enter(); }
  CUDAGuard(const CUDAGuard&) = delete;
  CUDAGuard& operator=(const CUDAGuard&) = delete;
  ~CUDAGuard() { ::cuda_on_cpu::guard_exit(); }
};

struct OptionalCUDAGuard {
  explicit OptionalCUDAGuard() = default;
  explicit OptionalCUDAGuard(std::optional<Device> device) {
    if (device.has_value()) set_device(*device);
  }
  OptionalCUDAGuard(const OptionalCUDAGuard&) = delete;
  OptionalCUDAGuard& operator=(const OptionalCUDAGuard&) = delete;
  ~OptionalCUDAGuard() { reset(); }
  void set_device(Device /*device*/) {
    if (!live_) ::cuda_on_cpu::guard_enter();
    live_ = true;
  }
  void reset() {
    if (live_) ::cuda_on_cpu::guard_exit();
    live_ = false;
  }

 private:
  bool live_ = false;
};

struct CUDAStreamGuard {
  explicit CUDAStreamGuard(CUDAStream stream) : previous_(getCurrentCUDAStream()) {
    setCurrentCUDAStream(stream);
    ::cuda_on_cpu::guard_enter();
  }
  CUDAStreamGuard(const CUDAStreamGuard&) = delete;
  CUDAStreamGuard& operator=(const CUDAStreamGuard&) = delete;
  ~CUDAStreamGuard() {
    ::cuda_on_cpu::guard_exit();
    setCurrentCUDAStream(previous_);
  }

 private:
  CUDAStream previous_;
};

}  // namespace cuda
}  // namespace c10
