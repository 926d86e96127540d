// tessel/gemm/partition.hpp — how one call is cut into work units for threads, as a pure
// function of the problem's shape, the blocking, the CPU's cache sizes and the number of
// threads available: tests (and load-balance models for machines we do not have, see
// tests/test_scaling_model.cpp) can list the units for any thread count without running
// anything.
//
// A unit is one (batch g, row block, column block) of C: it owns that block from start to
// end (the whole k loop, then the store), so threads never share an output element. Units
// are handed out one at a time in increasing order (core/parallel.hpp's dynamic schedule).
//
// Which bits a C element gets is decided by the k loop alone: kc (the depth of each packed
// panel), the order of the k blocks, and the micro-kernel's order within a block. Those come
// from the blocking (gemm/blocking.hpp), never from the thread count. A unit's rows and
// columns only say *which* elements it computes, so they may change with the thread count:
//   * the cache blocking gives mc × nc blocks, sized for one core's caches;
//   * with many threads and few such blocks (a 64-core machine on W1's multi-head product:
//     16 heads × 2 row blocks, 32 units) the threads would not balance, so plan_gemm cuts
//     the blocks finer — rows and columns, in whole register tiles, never k — until the dynamic
//     schedule's worst thread is estimated within kMaxImbalance of the mean (see
//     imbalance_bound), or the units reach kMinUnitTiles register tiles a side (a call too
//     narrow for that many threads then leaves some of them less work than others);
//   * finer units only shrink each thread's packing buffers (gemm_workspace_bytes).
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
  // A's rows are each contiguous along k and a multiple of kL1SetPeriod bytes apart, so an A
  // panel's rows all fall in the same L1 sets.
  bool a_rows_share_l1_sets = false;
};

// The address period of L1's sets (its size over its ways) on the CPUs we know: 32 KiB 8-way
// and 48 KiB 12-way L1Ds both repeat every 4 KiB.
inline constexpr std::int64_t kL1SetPeriod = 4096;

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

// The largest imbalance plan_gemm accepts: the busiest thread's work over the mean.
inline constexpr double kMaxImbalance = 1.10;

// The narrowest unit a finer split makes, in register tiles a side (MR rows, NR columns).
// A unit packs (rows + cols)·k elements of A and B for rows·cols·k multiply-adds, so a unit
// only a tile or two wide spends a large share of its time packing (which the cost estimate
// does not count): 4 tiles a side pack about 4·(1/(4·NR) + 1/(4·MR)) of the arithmetic's
// time at 8 packed elements per cycle against 32 fp32 multiply-adds, i.e. about 10 % for
// the 14×32 AVX-512 tile.
inline constexpr std::int64_t kMinUnitTiles = 4;

// An upper bound on the busiest thread's work over the mean when `units` units are handed
// out as core/parallel.hpp's dynamic schedule does (in order, to whichever thread is free
// first) to `threads` threads, the largest costing `largest` and all together `total`.
// Two bounds hold for that (list) schedule and the smaller is returned:
//   * every thread is busy until the last unit starts, and the last to finish started its
//     last unit no later than the mean: makespan <= total/threads + (1 - 1/threads)·largest;
//   * a thread busy from 0 with units of at most `largest` has started ceil(t/largest) of
//     them by time t, so no unit starts after (ceil(units/threads) - 1)·largest:
//     makespan <= ceil(units/threads)·largest (exact when all units cost the same).
// Every thread's work equals the time it finishes (it never waits while units remain), so
// the makespan is the busiest thread's work.
inline double imbalance_bound(std::int64_t units, int threads, double largest, double total) {
  if (threads <= 1 || units <= 0 || total <= 0) return 1.0;
  const double mean = total / threads;
  const double list = mean + (1.0 - 1.0 / threads) * largest;
  const double rounds = double((units + threads - 1) / threads) * largest;
  return std::min(list, rounds) / mean;
}

namespace partition_detail {
// One dimension of C cut into blocks of `block` (a multiple of the tile r, except that one
// block may cover the whole extent): the number of blocks, and their total length padded
// to whole tiles (what the kernel computes: the last block's padding included).
struct Cut {
  std::int64_t blocks, padded;
};
inline Cut cut(std::int64_t extent, std::int64_t block, std::int64_t r) {
  const std::int64_t blocks = (extent + block - 1) / block;
  return {blocks, (blocks - 1) * block + round_up(extent - (blocks - 1) * block, r)};
}
// imbalance_bound of the units mc × nc blocks of C make, with the cost of WorkUnit::cost.
inline double block_imbalance(const GemmShape& s, std::int64_t mc, std::int64_t nc, int threads) {
  const Cut rows = cut(s.m, mc, s.mr), cols = cut(s.n, nc, s.nr);
  const double k = double(std::max<std::int64_t>(s.k, 1));
  const double largest = 2.0 * double(std::min(round_up(mc, s.mr), rows.padded)) *
                         double(std::min(round_up(nc, s.nr), cols.padded)) * k;
  const double total = 2.0 * double(s.batch) * double(rows.padded) * double(cols.padded) * k;
  return imbalance_bound(s.batch * rows.blocks * cols.blocks, threads, largest, total);
}
}  // namespace partition_detail

// The plan for `shape` with blocking `bk` when `available_threads` may work on it.
//
// p.bk is `bk` with mc and nc possibly cut finer for many threads (see the top of this
// file); kc and k_blocks are always bk's.
inline GemmPlan plan_gemm(const GemmShape& shape, const Blocking& bk, const CpuFeatures& cpu, int available_threads) {
  GemmPlan p;
  p.shape = shape;
  p.bk = bk;
  if (shape.batch <= 0 || shape.m <= 0 || shape.n <= 0) return p;
  const double flops =
      2.0 * double(shape.batch) * double(shape.m) * double(shape.n) * double(std::max<std::int64_t>(shape.k, 1));
  const auto useful = static_cast<std::int64_t>(std::max(1.0, flops / kFlopsPerThread));
  int threads = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(available_threads, useful)));
  // Finer units while the threads would not balance: cut the longer side of the block (in
  // elements: the unit then packs the least for its work) by at least one tile at a time,
  // into equal blocks (even_split), while both sides stay at least kMinUnitTiles tiles.
  std::int64_t mc = bk.mc, nc = bk.nc;
  const std::int64_t min_rows = kMinUnitTiles * shape.mr, min_cols = kMinUnitTiles * shape.nr;
  while (partition_detail::block_imbalance(shape, mc, nc, threads) > kMaxImbalance) {
    const std::int64_t finer_mc = even_split(shape.m, std::max<std::int64_t>(mc - shape.mr, shape.mr), shape.mr);
    const std::int64_t finer_nc = even_split(shape.n, std::max<std::int64_t>(nc - shape.nr, shape.nr), shape.nr);
    const bool rows_can = finer_mc < mc && finer_mc >= min_rows;
    const bool cols_can = finer_nc < nc && finer_nc >= min_cols;
    if (!rows_can && !cols_can) break;
    if (rows_can && (!cols_can || mc >= nc)) mc = finer_mc;
    else nc = finer_nc;
  }
  // Units as fine as they go and still unbalanced: the call is too narrow for this many
  // threads at that grain. It still runs on all of them (up to one per unit): with the
  // dynamic schedule an extra thread can only take work off the others.
  p.bk.mc = mc, p.bk.nc = nc;
  p.m_blocks = (shape.m + mc - 1) / mc;
  p.n_blocks = (shape.n + nc - 1) / nc;
  p.units = shape.batch * p.m_blocks * p.n_blocks;
  p.threads = static_cast<int>(std::min<std::int64_t>(threads, p.units));
  const std::int64_t l1 = cpu.l1d > 0 ? cpu.l1d : 32 * 1024;
  const std::int64_t l2 = cpu.l2 > 0 ? cpu.l2 : (1 << 20);
  // Stream C when it is much larger than the caches: it will not be re-read soon. (Some
  // systems report an L3 far larger than a core can use, hence the cap at 16 L2s.)
  const std::int64_t llc = std::min(cpu.l3 > 0 ? cpu.l3 : 16 * l2, 16 * l2);
  p.stream = shape.batch * shape.m * shape.n * shape.out_bytes > llc && !shape.reads_c;
  // 16-float aligned rows, plus one cache line so rows a power of two apart do not all fall
  // in one L1 set.
  p.ldc = round_up(nc, 16) + 16;
  // The next A panel's rows go to L2 rather than L1 when they would take more than an eighth
  // of L1, or when they all fall in the same L1 sets (MR rows against 8-12 ways: the burst
  // evicts itself before the pack reads it; pack.hpp: prefetch_a).
  p.a_prefetch_l2 = shape.mr * bk.kc * shape.in_bytes > l1 / 8 || shape.a_rows_share_l1_sets;
  // A B column block packed for all of k is kept when the blocking cuts m into several row
  // blocks (the units of one column block, consecutive, then share it: each thread packs it
  // once instead of once per unit) and it fits the bound kept for it. With several k blocks
  // it does not stay in L2 anyway; each k block's part is streamed from the packed copy like
  // the unit's own panels. Where no unit shares it (all of m one row block: dW = Aᵀ·dO, k the
  // positions), each k block is packed into one of two L2-sized buffers instead: kept, every
  // k block would go to fresh lines of a copy several L2s long, each line read from memory
  // before it is written. (From the blocking, not the split, so that a finer split for more
  // threads never needs more workspace.)
  const auto panel_bytes = std::int64_t(sizeof(float));
  // (Compared as a quotient: k of expanded, stride-0 operands may be near 2^62.)
  p.keep_b = bk.k_blocks == 1 || (bk.mc < shape.m && shape.k <= 4 * l2 / (round_up(nc, shape.nr) * panel_bytes));
  // Batches fastest for a batch of one-k-block products with small B blocks (an eighth of
  // L2; the multi-head case with a short k and n): the heads' A blocks are then column slices
  // of the same rows, whose pages and DRAM rows the previous unit has just opened (a head's A
  // rows are far apart, each on its own page), which saves more than packing the small B
  // block of every unit costs.
  p.batch_fastest = shape.batch > 1 && bk.k_blocks == 1 && round_up(nc, shape.nr) * bk.kc * panel_bytes <= l2 / 8;
  return p;
}

// The most packing memory one thread's Workspace (gemm/workspace.hpp) holds for a unit of
// the plan, in bytes, as GemmCall::unit asks for it: A's block (its panel-by-panel buffer
// is smaller), B's block (for all of k when kept), and the fp32 C block or strip with the
// epilogue's scratch. It follows from the block sizes, which the caches bound, never from
// m·n, and a finer split only shrinks it.
inline std::int64_t gemm_workspace_bytes(const GemmPlan& plan) {
  if (plan.units == 0) return 0;
  const GemmShape& s = plan.shape;
  const std::int64_t rows = std::min(plan.bk.mc, s.m), cols = std::min(plan.bk.nc, s.n);
  const std::int64_t mc_pad = round_up(rows, s.mr), nc_pad = round_up(cols, s.nr);
  const std::int64_t k = std::max<std::int64_t>(s.k, 1);
  const std::int64_t a = mc_pad * plan.bk.kc;
  // (Not kept, with several k blocks: two blocks, when the next is packed in pieces.)
  const std::int64_t b = nc_pad * (plan.keep_b ? k : plan.bk.kc * (plan.bk.k_blocks > 1 ? 2 : 1));
  const std::int64_t c = (plan.bk.k_blocks == 1 ? s.mr : mc_pad) * plan.ldc + epilogue_floats(rows, cols);
  return (a + b + c) * std::int64_t(sizeof(float));
}

// What bounds gemm_workspace_bytes, in L2 sizes (the reported one, or 1 MiB when unknown):
// the kept B block is at most 4 L2s (keep_b), the A block and the C block share at most
// half of L2 each (gemm/blocking.hpp), and the rest is a few strips of a block's width. So
// P threads never hold more than P × kWorkspaceL2s L2s of packing memory, whatever the
// problem: with a 1 MiB L2, at most 6 MiB a thread.
inline constexpr std::int64_t kWorkspaceL2s = 6;

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
