// tessel/core/threads.hpp — how many threads a call uses.
//
// Precedence: a per-call request, then set_num_threads(), then TESSEL_NUM_THREADS, then
// OpenMP's default. Inside a caller's parallel region tessel runs on one thread (no nested
// oversubscription), and tessel never calls omp_set_num_threads: it passes num_threads(...)
// clauses, so it composes with the caller's own OpenMP settings. Results never depend on the
// thread count (work is split over output tiles only, never over the reduction).
#pragma once

#include "config.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>

#if defined(_OPENMP)
#include <omp.h>
#endif

TESSEL_NAMESPACE_BEGIN

namespace detail {
// Shared by every ABI namespace of the program (core/config.hpp).
inline std::atomic<int>& thread_setting() { return shared::num_threads_setting; }
inline int env_threads() {
  static const int n = [] {
    const char* env = std::getenv("TESSEL_NUM_THREADS");
    const long v = env ? std::strtol(env, nullptr, 10) : 0;
    return v > 0 ? static_cast<int>(v) : 0;
  }();
  return n;
}
inline bool in_parallel_region() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}
}  // namespace detail

// Sets the default number of threads for tessel calls; 0 returns to the default
// (TESSEL_NUM_THREADS, else OpenMP's). Negative values are treated as 0.
inline void set_num_threads(int n) { detail::thread_setting().store(n > 0 ? n : 0); }

// The number of threads a tessel call made here would use at most: always 1 without
// OpenMP, whatever set_num_threads() or TESSEL_NUM_THREADS asked for.
inline int get_num_threads() {
#if defined(_OPENMP)
  if (const int n = detail::thread_setting().load(); n > 0) return n;
  if (const int n = detail::env_threads(); n > 0) return n;
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace detail {
// Threads for one call: never more than there are independent work units, and one inside
// an enclosing parallel region or when OpenMP is absent.
inline int threads_for_call(int requested, std::int64_t work_units) {
#if defined(_OPENMP)
  if (in_parallel_region()) return 1;
  std::int64_t n = requested > 0 ? requested : get_num_threads();
  if (n > work_units) n = work_units;
  return n < 1 ? 1 : static_cast<int>(n);
#else
  (void)requested;
  (void)work_units;
  return 1;
#endif
}
}  // namespace detail
TESSEL_NAMESPACE_END
