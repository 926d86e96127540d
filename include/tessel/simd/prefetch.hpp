// tessel/simd/prefetch.hpp — a software prefetch the compiler keeps.
//
// GCC 12 deletes a loop whose only statements are __builtin_prefetch (or _mm_prefetch) in
// some template instantiations: the engine's A-panel prefetch once compiled to nothing, and
// the code ran as if it were not there. An asm volatile statement cannot be deleted, so the
// prefetch is issued exactly where the code says.
#pragma once

#include "target.hpp"

namespace tessel::detail {

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

}  // namespace tessel::detail
