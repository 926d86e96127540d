// tessel/gemm/workspace.hpp — the engine's only temporary memory: per-thread packing buffers.
//
// Each thread that runs engine work owns one Workspace: a packed A block, a packed B block
// and the fp32 accumulation block of C, each bounded by the block sizes (never by m·n; see
// gemm/partition.hpp: gemm_workspace_bytes). They grow to the largest size needed so far and
// are kept for the thread's lifetime, so a steady-state call allocates nothing here. They
// come from tessel's allocator, so tests can count them. A buffer that fails to grow throws
// std::bad_alloc and keeps its old block (see Buffer), so the thread's workspace stays valid
// for the next call.
//
// NUMA: the workspace is a thread_local, created, grown and first written (by packing) on
// the thread that uses it, inside the parallel region, so its pages sit on that thread's
// node (and the allocator hands a growing buffer a cached block of that node when it has
// one: core/allocator.hpp). Nothing is allocated for the workers by the calling thread.
#pragma once

#include "../core/config.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <thread>

#include "../core/allocator.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// A growable block of floats. Exception guarantee (strong): floats() either returns a block
// of at least `count` floats (contents unspecified: growing does not copy), or throws
// std::bad_alloc and keeps its previous block and capacity, so a failed growth leaves the
// buffer as usable as before (the next call that fits the old capacity needs no allocation).
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { deallocate_bytes(data_); }

  float* floats(std::int64_t count) {
    if (count < 0 || static_cast<std::uint64_t>(count) > std::numeric_limits<std::size_t>::max() / sizeof(float))
      throw std::bad_alloc();  // a block size no allocation can hold
    const auto bytes = static_cast<std::size_t>(count) * sizeof(float);
    if (bytes > capacity_) {
      void* grown = allocate_bytes(bytes);  // may throw: nothing has changed yet
      deallocate_bytes(data_);
      data_ = grown;
      capacity_ = bytes;
      allocated_by_ = std::this_thread::get_id();
    }
    return static_cast<float*>(data_);
  }

  // For tests: the current block, its size, and the thread that allocated it.
  const void* data() const { return data_; }
  std::size_t capacity_bytes() const { return capacity_; }
  std::thread::id allocated_by() const { return allocated_by_; }

 private:
  void* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::thread::id allocated_by_{};
};

struct Workspace {
  Buffer a, b, c;
  // Which B block the b buffer holds (call, batch, column block), so consecutive work units
  // of one call that share it skip packing it again. A call id is never reused.
  std::uint64_t b_call = 0;
  std::int64_t b_g = -1, b_jb = -1;
};

// A fresh id per engine call (0 is never handed out).
inline std::uint64_t next_call_id() {
  static std::atomic<std::uint64_t> id{0};
  return id.fetch_add(1, std::memory_order_relaxed) + 1;
}

inline Workspace& thread_workspace() {
  thread_local Workspace ws;
  return ws;
}

}  // namespace detail
TESSEL_NAMESPACE_END
