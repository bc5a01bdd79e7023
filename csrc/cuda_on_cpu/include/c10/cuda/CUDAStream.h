// cuda_on_cpu's stand-in for c10/cuda/CUDAStream.h (tools/cuda_on_cpu.py puts this folder first
// on the include path of the executor build). A stream is an id; the executor sets the current
// one to a non-default id for every op call, so that a launch on any other stream is caught.
#pragma once
#include <c10/core/Device.h>

#include <cstdint>

#include "cuda_on_cpu/builtins.h"

namespace cuda_on_cpu {
uintptr_t current_stream_id();
void set_current_stream_id(uintptr_t id);
}  // namespace cuda_on_cpu

namespace c10 {
namespace cuda {

class CUDAStream {
 public:
  explicit CUDAStream(uintptr_t id) : id_(id) {}
  cudaStream_t stream() const { return reinterpret_cast<cudaStream_t>(id_); }
  operator cudaStream_t() const { return stream(); }  // NOLINT: implicit, as c10's
  uintptr_t id() const { return id_; }
  DeviceIndex device_index() const { return 0; }
  bool operator==(const CUDAStream& o) const { return id_ == o.id_; }
  bool operator!=(const CUDAStream& o) const { return id_ != o.id_; }

 private:
  uintptr_t id_;
};

inline CUDAStream getCurrentCUDAStream(DeviceIndex /*device_index*/ = -1) {
  return CUDAStream(::cuda_on_cpu::current_stream_id());
}

inline CUDAStream getDefaultCUDAStream(DeviceIndex /*device_index*/ = -1) { return CUDAStream(0); }

inline void setCurrentCUDAStream(CUDAStream stream) {
  ::cuda_on_cpu::set_current_stream_id(stream.id());
}

}  // namespace cuda
}  // namespace c10
