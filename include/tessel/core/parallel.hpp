// tessel/core/parallel.hpp — the only places tessel opens an OpenMP parallel region.
//
// An exception may not leave an OpenMP structured block: libgomp then calls std::terminate
// (a std::bad_alloc from a workspace that grows inside the region killed the process with two
// threads, and reached the caller with one). So both primitives run the caller's function
// inside a try block on every thread, keep the first exception, let the other threads stop at
// their next unit, and rethrow it after the region has ended. With one thread (or without
// OpenMP) the function simply runs here and its exceptions propagate as usual.
//
// Callers decide the thread count (core/threads.hpp: threads_for_call); neither primitive
// calls omp_set_num_threads. Neither sets a binding either (no proc_bind clause, no
// omp_set_* call, no affinity call of its own): threads are placed as the user's
// OMP_PROC_BIND / OMP_PLACES (or GOMP_CPU_AFFINITY) say. On a NUMA machine
// OMP_PROC_BIND=close OMP_PLACES=cores keeps each thread, hence the pages it first touches
// (its outputs, its packing buffers), on one node.
#pragma once

#include "config.hpp"

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#if defined(_OPENMP)
#include <omp.h>
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

// The first exception thrown on any thread of a region, rethrown by the caller afterwards.
class FirstException {
 public:
  void capture() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
    failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  void rethrow_if_any() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

// Calls body(thread, threads) once on each of `threads` threads (thread in [0, threads)).
template <class Body>
void parallel_region(int threads, Body&& body) {
#if defined(_OPENMP)
  if (threads > 1) {
    FirstException error;
#pragma omp parallel num_threads(threads)
    {
      try {
        body(omp_get_thread_num(), omp_get_num_threads());
      } catch (...) {
        error.capture();
      }
    }
    error.rethrow_if_any();
    return;
  }
#endif
  (void)threads;
  body(0, 1);
}

// Calls body(u) for every u in [0, units), handed out to `threads` threads one at a time in
// increasing order (OpenMP's dynamic schedule). After a throw, units not yet started are
// skipped. Which thread runs a unit must not matter to the result (tessel's units own
// disjoint parts of the output), so the result does not depend on the thread count.
template <class Body>
void parallel_for_dynamic(int threads, std::int64_t units, Body&& body) {
#if defined(_OPENMP)
  if (threads > 1 && units > 1) {
    FirstException error;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t u = 0; u < units; ++u) {
        if (error.failed()) continue;
        try {
          body(u);
        } catch (...) {
          error.capture();
        }
      }
    }
    error.rethrow_if_any();
    return;
  }
#endif
  (void)threads;
  for (std::int64_t u = 0; u < units; ++u) body(u);
}

}  // namespace detail
TESSEL_NAMESPACE_END
