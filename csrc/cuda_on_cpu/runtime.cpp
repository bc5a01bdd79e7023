// State of the CUDA-on-CPU executor: its settings (thread order, lowered grid caps, the current
// stream), the launch rules, and the allocation tracker that makes bounds checks possible.
//
// Allocation tracking: while on, the CPU allocator is replaced by one that puts kGuard bytes of
// a known pattern before and after every allocation and records its user bytes. dev_ptr and
// __ldg check accesses against those records; the guard bytes, checked after every launch and
// at every free, catch writes just outside a buffer through raw pointers.
//
// Controlled from Python through the ops of namespace cuda_on_cpu (tests/cuda_on_cpu.py).
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/library.h>

#include <cstring>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "c10/cuda/CUDAException.h"
#include "c10/cuda/CUDAGuard.h"
#include "c10/cuda/CUDAStream.h"
#include "cuda_on_cpu/launch.h"

namespace cuda_on_cpu {
namespace {

constexpr size_t kGuard = 256;  // a multiple of c10's 64-byte alignment
constexpr unsigned char kGuardByte = 0xA5;

struct Settings {
  bool reverse = false;
  int64_t grid_cap = 0;  // 0: the caps of cuda_utils.cuh as they are
  uintptr_t stream = 0;
};

struct State {
  Settings settings;
  int guards = 0;                        // live CUDAGuards
  bool launching = false;
  LaunchSite current{"", "", 0};         // the running launch
  bool unchecked = false;                // the last launch awaits C10_CUDA_KERNEL_LAUNCH_CHECK
  LaunchSite last{"", "", 0};            // the last launch
  int64_t launches = 0;
  int64_t threads = 0;
  std::vector<std::string> problems;     // found outside a launch, reported by finish()
};

State& state() {
  static State s;
  return s;
}

std::string site_text(const LaunchSite& s) {
  std::ostringstream os;
  os << "kernel " << s.kernel << " launched at " << s.file << ":" << s.line;
  return os.str();
}

// -- allocation tracking --------------------------------------------------------------------------

struct Block {
  uintptr_t hi;  // end of the user bytes
  size_t bytes;
};

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<uintptr_t, Block>& registry() {  // user start -> block
  static std::map<uintptr_t, Block> r;
  return r;
}

bool guards_intact(uintptr_t lo, const Block& b) {
  const auto* before = reinterpret_cast<const unsigned char*>(lo - kGuard);
  const auto* after = reinterpret_cast<const unsigned char*>(b.hi);
  for (size_t i = 0; i < kGuard; ++i) {
    if (before[i] != kGuardByte || after[i] != kGuardByte) return false;
  }
  return true;
}

std::string corrupted(uintptr_t lo, const Block& b, const char* when) {
  std::ostringstream os;
  os << "the guard bytes around an allocation of " << b.bytes << " bytes were overwritten ("
     << when << "): something wrote outside its buffer";
  return os.str();
}

void delete_tracked(void* user) {
  if (user == nullptr) return;
  const auto lo = reinterpret_cast<uintptr_t>(user);
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(lo);
    if (it != registry().end()) {
      if (!guards_intact(lo, it->second)) {
        state().problems.push_back(corrupted(lo, it->second, "seen when it was freed"));
      }
      registry().erase(it);
    }
  }
  c10::free_cpu(reinterpret_cast<void*>(lo - kGuard));
}

class TrackingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    if (n == 0) return {nullptr, nullptr, &delete_tracked, c10::Device(c10::DeviceType::CPU)};
    unsigned char* base = nullptr;
    try {
      base = static_cast<unsigned char*>(c10::alloc_cpu(n + 2 * kGuard));
    } catch (const c10::Error&) {
      // fail as torch's allocator fails for n bytes (its message names the size asked for)
      c10::free_cpu(c10::alloc_cpu(n));
      throw;
    }
    std::memset(base, kGuardByte, kGuard);
    std::memset(base + kGuard + n, kGuardByte, kGuard);
    void* user = base + kGuard;
    {
      std::lock_guard<std::mutex> lock(registry_mutex());
      const auto lo = reinterpret_cast<uintptr_t>(user);
      registry()[lo] = Block{lo + n, n};
    }
    return {user, user, &delete_tracked, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &delete_tracked; }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

TrackingAllocator& tracker() {
  static TrackingAllocator a;
  return a;
}

c10::Allocator* previous_allocator = nullptr;
constexpr uint8_t kPriority = 100;  // above any allocator torch registers at start-up

void track_allocations(bool on) {
  if (on && previous_allocator == nullptr) {
    previous_allocator = c10::GetCPUAllocator();
    c10::SetCPUAllocator(&tracker(), kPriority);
  } else if (!on && previous_allocator != nullptr) {
    c10::SetCPUAllocator(previous_allocator, kPriority);
    previous_allocator = nullptr;
  }
}

void check_all_guards(const LaunchSite& site) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (const auto& [lo, b] : registry()) {
    TORCH_CHECK(guards_intact(lo, b), "cuda_on_cpu: ", site_text(site), ": ",
                corrupted(lo, b, "seen after the launch"));
  }
}

// -- control ops ------------------------------------------------------------------------------------

void configure(std::string_view order, int64_t grid_cap, int64_t stream) {
  TORCH_CHECK_VALUE(order == "forward" || order == "reverse",
                    "cuda_on_cpu.configure: order must be 'forward' or 'reverse', got '",
                    std::string(order), "'");
  TORCH_CHECK_VALUE(grid_cap >= 0, "cuda_on_cpu.configure: grid_cap must be >= 0, got ",
                    grid_cap);
  TORCH_CHECK_VALUE(stream >= 0, "cuda_on_cpu.configure: stream must be >= 0, got ", stream);
  state().settings = Settings{order == "reverse", grid_cap, static_cast<uintptr_t>(stream)};
}

// Problems found since the last call (a launch left unchecked, guard bytes overwritten); clears
// them and the launch state.
std::vector<std::string> finish() {
  State& s = state();
  std::vector<std::string> out;
  if (s.unchecked) {
    out.push_back("cuda_on_cpu: " + site_text(s.last) +
                  " was not followed by C10_CUDA_KERNEL_LAUNCH_CHECK()");
  }
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    out.insert(out.end(), s.problems.begin(), s.problems.end());
    s.problems.clear();
  }
  if (s.guards != 0) out.push_back("cuda_on_cpu: a CUDAGuard outlived the op call");
  s.unchecked = false;
  s.guards = 0;
  s.launching = false;
  return out;
}

// [launches, threads run] since the library was loaded.
std::vector<int64_t> counters() { return {state().launches, state().threads}; }

}  // namespace

// -- the hooks of builtins.h, launch.h and the c10/cuda stand-ins -----------------------------------

bool find_allocation(const void* p, uintptr_t* lo, uintptr_t* hi) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto it = registry().upper_bound(a);
  if (it == registry().begin()) return false;
  --it;
  if (a >= it->second.hi) return false;
  *lo = it->first;
  *hi = it->second.hi;
  return true;
}

void check_access(const void* p, size_t n, const char* what) {
  uintptr_t lo = 0, hi = 0;
  const auto a = reinterpret_cast<uintptr_t>(p);
  TORCH_CHECK(find_allocation(p, &lo, &hi) && a + n <= hi, "cuda_on_cpu: ", where(), ": ", what,
              " of ", n, " bytes at an address outside every live tensor allocation");
}

std::string where() {
  const State& s = state();
  std::ostringstream os;
  os << site_text(s.current);
  const ThreadPosition& p = current();
  if (p.in_kernel) {
    os << ", block (" << p.block.x << "," << p.block.y << "," << p.block.z << ") of ("
       << p.grid_dim.x << "," << p.grid_dim.y << "," << p.grid_dim.z << "), thread ("
       << p.thread.x << "," << p.thread.y << "," << p.thread.z << ")";
  }
  return os.str();
}

bool reverse_order() { return state().settings.reverse; }

int64_t grid_cap(int64_t cap) {
  const int64_t lowered = state().settings.grid_cap;
  return lowered > 0 && lowered < cap ? lowered : cap;
}

void begin_launch(const LaunchSite& site, dim3 grid, dim3 block, size_t smem,
                  cudaStream_t stream) {
  State& s = state();
  const std::string at = "cuda_on_cpu: " + site_text(site) + ": ";
  TORCH_CHECK(!s.launching, at, "launched from inside another kernel");
  TORCH_CHECK(!s.unchecked, "cuda_on_cpu: ", site_text(s.last),
              " was not followed by C10_CUDA_KERNEL_LAUNCH_CHECK() before the next launch");
  TORCH_CHECK(grid.x >= 1 && grid.y >= 1 && grid.z >= 1, at, "grid (", grid.x, ",", grid.y, ",",
              grid.z, ") has an empty dimension (CUDA: invalid configuration argument)");
  TORCH_CHECK(grid.x <= 2147483647u, at, "grid.x = ", grid.x, " exceeds the limit 2^31 - 1");
  TORCH_CHECK(grid.y <= 65535u && grid.z <= 65535u, at, "grid (", grid.x, ",", grid.y, ",",
              grid.z, ") exceeds the device limit of 65535 for grid.y and grid.z; stride the "
              "kernel over the rest of the work");
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  TORCH_CHECK(block.x >= 1 && block.y >= 1 && block.z >= 1 && block.x <= 1024 &&
                  block.y <= 1024 && block.z <= 64 && threads <= 1024,
              at, "block (", block.x, ",", block.y, ",", block.z,
              ") exceeds the device limits (x, y <= 1024, z <= 64, at most 1024 threads)");
  TORCH_CHECK(smem <= 48 * 1024, at, smem, " bytes of dynamic shared memory exceed 48 KiB");
  TORCH_CHECK(s.guards > 0, at,
              "no CUDAGuard is live: add `const c10::cuda::CUDAGuard guard(tensor.device());` "
              "before the launch, or the kernel runs on whatever device is current");
  const auto id = reinterpret_cast<uintptr_t>(stream);
  TORCH_CHECK(id == s.settings.stream, at, "launched on stream ", id,
              " but the current stream is ", s.settings.stream,
              ": pass c10::cuda::getCurrentCUDAStream() as the 4th launch argument");
  s.launching = true;
  s.current = site;
}

void end_launch(uint64_t threads) {
  State& s = state();
  s.launching = false;
  s.launches += 1;
  s.threads += static_cast<int64_t>(threads);
  s.unchecked = true;
  s.last = s.current;
  check_all_guards(s.current);
}

void abandon_launch() noexcept {
  state().launching = false;
}

uintptr_t current_stream_id() { return state().settings.stream; }
void set_current_stream_id(uintptr_t id) { state().settings.stream = id; }

void guard_enter() { state().guards += 1; }
void guard_exit() noexcept { state().guards -= 1; }

void launch_checked(const char* /*file*/, int /*line*/) {
  state().unchecked = false;
}

TORCH_LIBRARY(cuda_on_cpu, m) {
  m.def("configure(str order, int grid_cap, int stream) -> ()", &configure);
  m.def("track_allocations(bool on) -> ()", &track_allocations);
  m.def("finish() -> str[]", &finish);
  m.def("counters() -> int[]", &counters);
}

}  // namespace cuda_on_cpu
