// tessel/core/threads.hpp — how many threads a call uses.
//
// Precedence: a per-call request, then set_num_threads(), then TESSEL_NUM_THREADS, then
// OpenMP's default. Inside a caller's parallel region tessel runs on one thread (no nested
// oversubscription), and tessel never calls omp_set_num_threads: it passes num_threads(...)
// clauses, so it composes with the caller's own OpenMP settings. Results never depend on the
// thread count (work is split over output tiles only, never over the reduction).
//
// fork(). OpenMP runtimes keep their worker threads for reuse, and fork() copies only the
// calling thread, so in a child the next parallel region waits forever for workers that do
// not exist (libgomp's limitation: a plain OpenMP program hangs the same way). Servers, test
// runners and Python's multiprocessing fork, and tessel hides OpenMP from its users, so tessel
// runs single-threaded in a process forked after it has used threads: the first call that
// asks for more than one thread registers a pthread_atfork child handler, which marks the
// child (tessel::shared::forked_after_threads, seen by every ABI namespace and inherited by
// the child's own children). There get_num_threads() is 1 and set_num_threads() has no
// effect; the results are the same bits, only slower. A process forked before tessel used
// threads keeps its threads.
#pragma once

#include "config.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(_OPENMP) && (defined(__unix__) || defined(__APPLE__))
#include <pthread.h>
#define TESSEL_MARK_FORKED_CHILDREN 1
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

// True in a fork() child of a process in which tessel had used threads: only one thread
// can run there (see the top of this file).
inline bool forked_after_threads() { return shared::forked_after_threads.load(std::memory_order_relaxed); }

#if defined(TESSEL_MARK_FORKED_CHILDREN)
inline void mark_forked_child() noexcept { shared::forked_after_threads.store(true, std::memory_order_relaxed); }
#endif

// Called before tessel first runs more than one thread, so that a later fork() marks the
// child. Once per ABI namespace (two namespaces register two handlers that set one flag).
inline void prepare_for_fork_after_threads() {
#if defined(TESSEL_MARK_FORKED_CHILDREN)
  static const bool registered = ::pthread_atfork(nullptr, nullptr, &mark_forked_child) == 0;
  (void)registered;  // on failure (no memory) a child would be as unsafe as without it
#endif
}
}  // namespace detail

// Sets the default number of threads for tessel calls; 0 returns to the default
// (TESSEL_NUM_THREADS, else OpenMP's). Negative values are treated as 0.
inline void set_num_threads(int n) { detail::thread_setting().store(n > 0 ? n : 0); }

// The number of threads a tessel call made here would use at most: always 1 without
// OpenMP, whatever set_num_threads() or TESSEL_NUM_THREADS asked for, and 1 in the child
// of a fork() taken after tessel ran threads.
inline int get_num_threads() {
  if (detail::forked_after_threads()) return 1;
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
// an enclosing parallel region, in a child forked after threads ran, or without OpenMP.
inline int threads_for_call(int requested, std::int64_t work_units) {
#if defined(_OPENMP)
  if (in_parallel_region() || forked_after_threads()) return 1;
  std::int64_t n = requested > 0 ? requested : get_num_threads();
  if (n > work_units) n = work_units;
  if (n <= 1) return 1;
  prepare_for_fork_after_threads();
  return static_cast<int>(n);
#else
  (void)requested;
  (void)work_units;
  return 1;
#endif
}
}  // namespace detail
TESSEL_NAMESPACE_END
