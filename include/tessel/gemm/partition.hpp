// tessel/gemm/partition.hpp — how one call is cut into work units for threads, as a pure
// function of the problem's shape, the blocking, the CPU's cache sizes and the number of
// threads available: tests (and load-balance models for machines we do not have) can list
// the units for any thread count without running anything.
//
// A unit is one (batch g, mc-row block, nc-column block) of C: it owns that block from start
// to end (the whole k loop, then the store), so threads never share an output element and
// the reduction order, hence every bit, does not depend on how many threads there are.
// Units are handed out one at a time in increasing order (core/parallel.hpp's dynamic
// schedule). Only the block sizes, not the thread count, decide the units' contents.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../simd/cpu_features.hpp"
#include "blocking.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Below this many flops per thread, a thread costs more than it saves.
inline constexpr double kFlopsPerThread = 4.0e6;

// What partitioning needs to know of a problem (gemm/problem.hpp), and of the kernel's tile.
struct GemmShape {
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
  int mr = 1, nr = 1;                      // the kernel's register tile
  std::int64_t in_bytes = 4, out_bytes = 4;  // sizeof(T), sizeof(TC)
  bool reads_c = false;                    // β != 0
};

// The decisions the driver takes for a call before any work starts.
struct GemmPlan {
  GemmShape shape;
  Blocking bk;
  std::int64_t m_blocks = 0, n_blocks = 0, units = 0;
  int threads = 1;
  // Units run (batch, column block, row block), row blocks fastest, so a thread's
  // consecutive units share their packed B block; with batch_fastest, batches fastest.
  bool batch_fastest = false;
  // C is written with non-temporal stores (much larger than the caches, and not read).
  bool stream = false;
  // A unit's B column block, packed for all of k, is kept for the thread's next units.
  bool keep_b = false;
  // The next A panel's rows are prefetched into L2 instead of L1.
  bool a_prefetch_l2 = false;
  // Leading dimension of the fp32 block buffers.
  std::int64_t ldc = 0;
};

// One unit: batch g, rows [i0, i0 + rows) and columns [j0, j0 + cols) of C, and its cost
// (the flops of its register tiles, padding included: what the kernel executes).
struct WorkUnit {
  std::int64_t g = 0, ib = 0, jb = 0;
  std::int64_t i0 = 0, rows = 0, j0 = 0, cols = 0;
  double cost = 0;
};

// The plan for `shape` with blocking `bk` when `available_threads` may work on it.
inline GemmPlan plan_gemm(const GemmShape& shape, const Blocking& bk, const CpuFeatures& cpu, int available_threads) {
  GemmPlan p;
  p.shape = shape;
  p.bk = bk;
  if (shape.batch <= 0 || shape.m <= 0 || shape.n <= 0) return p;
  p.m_blocks = (shape.m + bk.mc - 1) / bk.mc;
  p.n_blocks = (shape.n + bk.nc - 1) / bk.nc;
  p.units = shape.batch * p.m_blocks * p.n_blocks;
  const double flops =
      2.0 * double(shape.batch) * double(shape.m) * double(shape.n) * double(std::max<std::int64_t>(shape.k, 1));
  const auto useful = static_cast<std::int64_t>(std::max(1.0, flops / kFlopsPerThread));
  p.threads = static_cast<int>(std::max<std::int64_t>(1, std::min({std::int64_t{available_threads}, p.units, useful})));
  const std::int64_t l1 = cpu.l1d > 0 ? cpu.l1d : 32 * 1024;
  const std::int64_t l2 = cpu.l2 > 0 ? cpu.l2 : (1 << 20);
  // Stream C when it is much larger than the caches: it will not be re-read soon. (Some
  // systems report an L3 far larger than a core can use, hence the cap at 16 L2s.)
  const std::int64_t llc = std::min(cpu.l3 > 0 ? cpu.l3 : 16 * l2, 16 * l2);
  p.stream = shape.batch * shape.m * shape.n * shape.out_bytes > llc && !shape.reads_c;
  // 16-float aligned rows, plus one cache line so rows a power of two apart do not all fall
  // in one L1 set.
  p.ldc = round_up(bk.nc, 16) + 16;
  // The next A panel's rows go to L2 rather than L1 when they would take more than an eighth
  // of L1 (pack.hpp: prefetch_a).
  p.a_prefetch_l2 = shape.mr * bk.kc * shape.in_bytes > l1 / 8;
  // A B column block packed for all of k is kept when it fits the bound kept for it: the
  // units sharing it (consecutive ones) then pack it once per thread instead of once per
  // unit. With several k blocks it does not stay in L2 anyway; each k block's part is
  // streamed from the packed copy like the unit's own panels.
  const auto panel_bytes = std::int64_t(sizeof(float));
  // (Compared as a quotient: k of expanded, stride-0 operands may be near 2^62.)
  p.keep_b = bk.k_blocks == 1 || shape.k <= 4 * l2 / (round_up(bk.nc, shape.nr) * panel_bytes);
  // Batches fastest for a batch of one-k-block products with small B blocks (an eighth of
  // L2; the multi-head case with a short k and n): the heads' A blocks are then column slices
  // of the same rows, whose pages and DRAM rows the previous unit has just opened (a head's A
  // rows are far apart, each on its own page), which saves more than packing the small B
  // block of every unit costs.
  p.batch_fastest = shape.batch > 1 && bk.k_blocks == 1 && round_up(bk.nc, shape.nr) * bk.kc * panel_bytes <= l2 / 8;
  return p;
}

// Unit u (0 <= u < plan.units) of the plan.
inline WorkUnit work_unit(const GemmPlan& plan, std::int64_t u) {
  WorkUnit w;
  const std::int64_t batch = plan.shape.batch;
  if (plan.batch_fastest) {
    w.g = u % batch, w.jb = (u / batch) % plan.n_blocks, w.ib = u / (batch * plan.n_blocks);
  } else {
    w.ib = u % plan.m_blocks, w.jb = (u / plan.m_blocks) % plan.n_blocks, w.g = u / (plan.n_blocks * plan.m_blocks);
  }
  w.i0 = w.ib * plan.bk.mc, w.rows = std::min(plan.bk.mc, plan.shape.m - w.i0);
  w.j0 = w.jb * plan.bk.nc, w.cols = std::min(plan.bk.nc, plan.shape.n - w.j0);
  w.cost = 2.0 * double(round_up(w.rows, plan.shape.mr)) * double(round_up(w.cols, plan.shape.nr)) *
           double(std::max<std::int64_t>(plan.shape.k, 1));
  return w;
}

// Every unit of the plan, in the order the driver hands them out.
inline std::vector<WorkUnit> work_units(const GemmPlan& plan) {
  std::vector<WorkUnit> v;
  v.reserve(static_cast<std::size_t>(plan.units));
  for (std::int64_t u = 0; u < plan.units; ++u) v.push_back(work_unit(plan, u));
  return v;
}

}  // namespace detail
TESSEL_NAMESPACE_END
