// tessel/gemm/block_prefetch.hpp — the next k block's operand lines, fetched into L2 one
// line at a time while the micro-kernel computes the current block.
//
// Why: with a long k (dW = A3ᵀ·dO has k = M) a work unit runs many k blocks, and each
// block's A and B come from memory exactly once, read by the packing in runs of a few
// hundred bytes that lie pages apart (dO's rows for one head are G·N elements apart). The
// hardware prefetchers do not follow such jumps, so packing on demand stalls on memory for
// about a third of the time (M=4096 K=128 N=128 ×32, fp32). Prefetched during the previous
// block's arithmetic, the packing finds the lines in L2. The kernel issues one prefetch per
// step of its k loop: issued in a burst between tiles, they fill the core's miss buffers and
// stall it much as the loads would (measured +4 % against +10 % spread out).
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "../simd/prefetch.hpp"
#include "problem.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// The cache lines of one block of an operand, as runs: one run per index of the block's
// strided axis, each the contiguous stretch of the block along the unit-stride axis.
struct LineRuns {
  const char* base = nullptr;  // the block's first element along the unit axis, index 0 of `axis`
  Axis axis;                   // the strided axis (index lists and several dimensions included)
  std::int64_t elem_bytes = 0, run_bytes = 0;
  std::int64_t first = 0, runs = 0;  // the block's indices [first, first + runs) along `axis`
  // Cursor: the next line of the current run to prefetch, and the end of the run's bytes.
  std::int64_t run = 0;
  const char* line = nullptr;
  const char* end = nullptr;

  bool done() const { return run >= runs; }

  // Prefetches the next line of the block (done() must be false).
  void next() {
    prefetch_line_l2(line);
    line += 64;
    if (line >= end && ++run < runs) start_run();
  }

  void start_run() {
    const char* p = base + axis.offset(first + run) * elem_bytes;
    line = reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{63});
    end = p + run_bytes;
  }
};

// The lines of op's block [i, i+ni) × [j, j+nj) in batch g; none (done() at once) unless
// one of its axes has unit stride.
template <class T>
LineRuns block_lines(const Operand<const T>& op, std::int64_t g, std::int64_t i, std::int64_t ni, std::int64_t j,
                     std::int64_t nj) {
  LineRuns l;
  l.elem_bytes = static_cast<std::int64_t>(sizeof(T));
  const T* base = op.matrix(g);
  if (op.cols.is_unit()) {
    l.base = reinterpret_cast<const char*>(base + j), l.axis = op.rows, l.first = i, l.runs = ni;
    l.run_bytes = nj * l.elem_bytes;
  } else if (op.rows.is_unit()) {
    l.base = reinterpret_cast<const char*>(base + i), l.axis = op.cols, l.first = j, l.runs = nj;
    l.run_bytes = ni * l.elem_bytes;
  }
  if (l.run_bytes <= 0) l.runs = 0;
  if (!l.done()) l.start_run();
  return l;
}

// The next k block of a unit: its A lines, then its B lines.
struct BlockPrefetch {
  LineRuns a, b;

  bool done() const { return a.done() && b.done(); }
  // One line, if any is left: a kernel calls this once per step of its k loop.
  TESSEL_ALWAYS_INLINE void step() {
    if (!a.done())
      a.next();
    else if (!b.done())
      b.next();
  }
};

}  // namespace detail
TESSEL_NAMESPACE_END
