// tessel/core/allocator.hpp — where every byte tessel allocates comes from.
//
// Two reasons for a caching allocator in a math library:
//  * First touch of fresh pages is slow on our machines (0.4–1.7 GB/s for 4 KiB pages), so
//    an allocating call in a training loop that got fresh memory for a 128 MiB output every
//    step would spend longer faulting pages in than multiplying. Freed large blocks are kept
//    and handed out again (PyTorch's CUDA caching allocator is the model), bounded by a
//    limit, and release_cached_memory() gives them back.
//  * Large blocks are 2 MiB aligned and advised as transparent huge pages, which fault in
//    an order of magnitude faster where the kernel allows it.
// Every allocation is counted, so tests can prove what a call allocates (memory_stats()).
//
// NUMA. A page lives on the node of the thread that first writes it, and stays there. The
// engine's outputs are first written by the threads that compute them (ops allocate them
// uninitialized) and its packing buffers by the thread that owns them (gemm/workspace.hpp).
// A cached block keeps the node of the thread that got it fresh from the system (the node
// its pages most likely went to: for a packing buffer, its thread's). allocate() prefers a
// fitting cached block of the calling thread's node; a block of another node is handed out
// only when none of its own fits, because the alternative, fresh memory, costs the first
// touch the cache exists to avoid (and a thread that is not bound may have moved). Without
// getcpu (not Linux) every block is of node -1, and the choice is the plain best fit.
//
// Under faults:
//  * allocate() gives the strong guarantee: it returns a block or throws std::bad_alloc and
//    changes nothing (when the system refuses a fresh block, the cached blocks are returned
//    to it and the request is tried once more before giving up);
//  * deallocate() never throws (a block it cannot keep in the cache goes back to the system);
//  * fork(): the allocator's lock is taken before the fork and released after it in parent
//    and child (pthread_atfork), so a child forked while another thread is allocating
//    finds the allocator consistent and unlocked.
#pragma once

#include "config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>

#if defined(__linux__)
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define TESSEL_HAVE_PTHREAD_ATFORK 1
#endif

TESSEL_NAMESPACE_BEGIN

// Counters over everything tessel allocated since the last reset_memory_stats().
struct MemoryStats {
  std::int64_t allocations = 0;         // calls that handed out a block (cached or fresh)
  std::int64_t bytes_requested = 0;     // sum of the sizes asked for
  std::int64_t fresh_allocations = 0;   // blocks that came from the system, not the cache
  std::int64_t live_bytes = 0;          // handed out and not yet returned
  std::int64_t peak_live_bytes = 0;
  std::int64_t cached_bytes = 0;        // kept for reuse right now
  std::int64_t zero_filled_bytes = 0;   // zero-filled by the calling thread (Tensor(shape), zeros())
};

namespace detail {

// The NUMA node of the CPU the calling thread runs on, or -1 when unknown. (glibc's
// getcpu goes through the vDSO: no system call.)
inline int current_numa_node() noexcept {
  unsigned cpu = 0, node = 0;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
  if (::getcpu(&cpu, &node) == 0) return static_cast<int>(node);
#elif defined(__linux__) && defined(SYS_getcpu)
  if (::syscall(SYS_getcpu, &cpu, &node, nullptr) == 0) return static_cast<int>(node);
#endif
  (void)cpu;
  (void)node;
  return -1;
}

class CachingAllocator {
  // A live block: its rounded size and the node of the thread that got it fresh.
  struct Block {
    std::size_t size;
    int node;
  };
  // A cached block and that node.
  struct Cached {
    void* p;
    int node;
  };

 public:
  static constexpr std::size_t kAlignment = 64;                   // one cache line, one AVX-512 vector
  static constexpr std::size_t kLargeBlock = std::size_t{1} << 20;  // blocks from 1 MiB on are cached
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  static CachingAllocator& instance() {
    static CachingAllocator* a = new CachingAllocator;  // never destroyed: tensors may outlive statics
    return *a;
  }

  // (Only blocks that may be cached need their node.)
  void* allocate(std::size_t bytes) { return allocate_on(bytes, bytes >= kLargeBlock ? current_numa_node() : -1); }

  // allocate() for a thread on `node` (tests name the node; allocate() asks getcpu).
  void* allocate_on(std::size_t bytes, int node) {
    const std::size_t size = rounded(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* p = nullptr;
    if (size >= kLargeBlock) {
      // Best fit among cached blocks no more than twice the size we need, of this node if
      // one fits.
      auto fit = free_.end();
      for (auto it = free_.lower_bound(size); it != free_.end() && it->first <= 2 * size; ++it) {
        if (fit == free_.end()) fit = it;
        if (it->second.node == node) {
          fit = it;
          break;
        }
      }
      if (fit != free_.end()) {
        p = fit->second.p;
        sizes_[p] = Block{fit->first, fit->second.node};  // the node stays the pages'
        stats_.cached_bytes -= static_cast<std::int64_t>(fit->first);
        free_.erase(fit);
      }
    }
    if (!p) {
      p = system_allocate(size);
      try {
        sizes_[p] = Block{size, node};
      } catch (...) {  // the bookkeeping node could not be allocated
        std::free(p);
        throw;
      }
      ++stats_.fresh_allocations;
    }
    ++stats_.allocations;
    stats_.bytes_requested += static_cast<std::int64_t>(bytes);
    stats_.live_bytes += static_cast<std::int64_t>(sizes_[p].size);
    stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
    return p;
  }

  // The node a live block of ours is tagged with (-1: unknown, or not ours); for tests.
  int node_of(void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(p);
    return it == sizes_.end() ? -1 : it->second.node;
  }

  void deallocate(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return;  // not ours: never happens through Tensor
    const Block block = it->second;
    sizes_.erase(it);
    stats_.live_bytes -= static_cast<std::int64_t>(block.size);
    if (block.size >= kLargeBlock && block.size <= limit_ && keep_cached(block, p)) {
      stats_.cached_bytes += static_cast<std::int64_t>(block.size);
      trim_to(limit_);
    } else {
      std::free(p);
    }
  }

  // Counts bytes zero-filled on the calling thread (see MemoryStats::zero_filled_bytes).
  void count_zero_fill(std::size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.zero_filled_bytes += static_cast<std::int64_t>(bytes);
  }

  void release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    trim_to(0);
  }

  void set_limit(std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = bytes;
    trim_to(limit_);
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  void reset_stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto live = stats_.live_bytes, cached = stats_.cached_bytes;
    stats_ = MemoryStats{};
    stats_.live_bytes = stats_.peak_live_bytes = live;
    stats_.cached_bytes = cached;
  }

 private:
  CachingAllocator() {
    if (const char* env = std::getenv("TESSEL_CACHE_LIMIT_MB")) limit_ = std::size_t(std::strtoull(env, nullptr, 10)) << 20;
#if defined(TESSEL_HAVE_PTHREAD_ATFORK)
    // Registered once, when the allocator is first used: before that nobody can hold its lock.
    // (If registration fails, which POSIX allows only for lack of memory, fork() is as unsafe
    // as without it; nothing else changes.)
    ::pthread_atfork(&lock_for_fork, &unlock_after_fork, &unlock_after_fork);
#endif
  }

  // fork() copies only the calling thread; without these a child forked while another thread
  // held the lock would find it locked forever.
  static void lock_for_fork() { instance().mutex_.lock(); }
  static void unlock_after_fork() { instance().mutex_.unlock(); }

  // Puts a freed block into the cache; false when the cache's node cannot be allocated.
  bool keep_cached(const Block& block, void* p) noexcept {
    try {
      free_.emplace(block.size, Cached{p, block.node});
      return true;
    } catch (...) {
      return false;
    }
  }

  static std::size_t rounded(std::size_t bytes) {
    const std::size_t unit = bytes >= kLargeBlock ? kHugePage : kAlignment;
    const std::size_t r = (std::max<std::size_t>(bytes, 1) + unit - 1) / unit * unit;
    if (r < bytes) throw std::bad_alloc();  // overflow
    return r;
  }

  // A fresh block from the system. Caller holds mutex_. When the system refuses, the cached
  // blocks (memory tessel holds but does not use) are given back and the request is retried.
  void* system_allocate(std::size_t size) {
    const std::size_t align = size >= kLargeBlock ? kHugePage : kAlignment;
    void* p = std::aligned_alloc(align, size);
    if (!p && !free_.empty()) {
      trim_to(0);
      p = std::aligned_alloc(align, size);
    }
    if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (size >= kLargeBlock) ::madvise(p, size, MADV_HUGEPAGE);  // a hint: failure is harmless
#endif
    return p;
  }

  // Frees cached blocks, largest first, until at most `bytes` stay cached. Caller holds mutex_.
  void trim_to(std::size_t bytes) {
    while (!free_.empty() && static_cast<std::size_t>(stats_.cached_bytes) > bytes) {
      auto it = std::prev(free_.end());
      stats_.cached_bytes -= static_cast<std::int64_t>(it->first);
      std::free(it->second.p);
      free_.erase(it);
    }
  }

  std::mutex mutex_;
  std::multimap<std::size_t, Cached> free_;  // cached blocks by size
  std::map<void*, Block> sizes_;             // live blocks
  std::size_t limit_ = std::size_t{2} << 30;  // 2 GiB cached at most, unless TESSEL_CACHE_LIMIT_MB says otherwise
  MemoryStats stats_;
};

inline void* allocate_bytes(std::size_t bytes) { return CachingAllocator::instance().allocate(bytes); }
inline void deallocate_bytes(void* p) noexcept { CachingAllocator::instance().deallocate(p); }

}  // namespace detail

// What tessel has allocated since the last reset (see MemoryStats).
inline MemoryStats memory_stats() { return detail::CachingAllocator::instance().stats(); }
inline void reset_memory_stats() { detail::CachingAllocator::instance().reset_stats(); }
// Returns every cached (freed but kept) block to the system.
inline void release_cached_memory() { detail::CachingAllocator::instance().release_cached(); }
// Caps how many bytes of freed blocks are kept for reuse (default 2 GiB, or TESSEL_CACHE_LIMIT_MB).
inline void set_memory_cache_limit(std::size_t bytes) { detail::CachingAllocator::instance().set_limit(bytes); }

TESSEL_NAMESPACE_END
