// tessel/gemm/block_prefetch.hpp — operand lines needed soon (the next A panel, the next k
// block), fetched into L2 a few lines at a time while the micro-kernel computes.
//
// Why: with a long k (dW = A3ᵀ·dO has k = M) a work unit runs many k blocks, and each
// block's A and B come from memory exactly once, read by the packing in runs of a few
// hundred bytes that lie pages apart (dO's rows for one head are G·N elements apart). The
// hardware prefetchers do not follow such jumps, so packing on demand stalls on memory for a
// good part of the time. Prefetched during the previous block's arithmetic, the packing finds
// the lines in L2. The kernel issues one prefetch per step of its k loop: issued in a burst
// between tiles, they fill the core's miss buffers and stall it much as the loads would.
// (A B whose rows are contiguous along n is packed in pieces instead, each piece's few lines
// fetched in one short burst a tile ahead: gemm/driver.hpp, GemmCall::macro_kernel.)
// The same holds for the next A panel of a block where few tiles use each panel (dA =
// dO·W2ᵀ has n = one head's width: two AMX tiles): prefetched in one burst before the row of
// tiles, its rows stalled the core on full miss buffers; spread over the row's k steps they
// arrive while the tiles compute.
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

  // (Inline: a call from the kernels' k loops would spill their accumulators.)
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

// What a kernel prefetches while it computes: the next A panel of the k block (`rate` lines
// per step, so that the whole panel arrives over the row of tiles that uses the current one),
// and the unit's next k block, its A lines then its B lines (one line per step).
struct BlockPrefetch {
  LineRuns panel;
  std::int64_t rate = 0;
  LineRuns a, b;

  bool done() const { return panel.done() && a.done() && b.done(); }
  // A kernel calls this once per step of its k loop.
  TESSEL_ALWAYS_INLINE void step() {
    for (std::int64_t r = 0; r < rate && !panel.done(); ++r) panel.next();
    if (!a.done())
      a.next();
    else if (!b.done())
      b.next();
  }
};

}  // namespace detail
TESSEL_NAMESPACE_END
