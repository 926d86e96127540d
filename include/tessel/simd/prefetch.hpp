// tessel/simd/prefetch.hpp — a software prefetch the compiler keeps.
//
// GCC 12 deletes a loop whose only statements are __builtin_prefetch (or _mm_prefetch) in
// some template instantiations: the engine's A-panel prefetch once compiled to nothing, and
// the code ran as if it were not there. An asm volatile statement cannot be deleted, so the
// prefetch is issued exactly where the code says.
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "target.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Starts loading the cache line holding p into all cache levels (a hint: never faults).
TESSEL_ALWAYS_INLINE void prefetch_line(const void* p) {
#if defined(TESSEL_HAVE_X86_TARGETS) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

// Starts loading the cache line holding p into L2 (and the outer levels), not L1: for data
// needed a whole cache block later, which would only evict the panels in use from L1.
TESSEL_ALWAYS_INLINE void prefetch_line_l2(const void* p) {
#if defined(TESSEL_HAVE_X86_TARGETS) && (defined(__GNUC__) || defined(__clang__))
  asm volatile("prefetcht2 %0" : : "m"(*static_cast<const char*>(p)));
#elif defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p, 0, 1);
#else
  (void)p;
#endif
}

// Prefetches every cache line of the `bytes` bytes at p (a run that may start mid-line),
// into L1, or into L2 only when to_l2.
TESSEL_ALWAYS_INLINE void prefetch_bytes(const void* p, std::int64_t bytes, bool to_l2 = false) {
  const char* c = static_cast<const char*>(p);
  if (bytes <= 0) return;
  auto fetch = [to_l2](const char* q) { to_l2 ? prefetch_line_l2(q) : prefetch_line(q); };
  for (std::int64_t o = 0; o < bytes; o += 64) fetch(c + o);
  fetch(c + bytes - 1);
}

}  // namespace detail
TESSEL_NAMESPACE_END
