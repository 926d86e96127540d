// tessel/gemm/blocking.hpp — cache block sizes, derived from the caches the CPU reports.
//
// BLIS's three blocking parameters, for one (kernel, problem). The driver runs the
// micro-tiles of a block row by row (ir outer, jr inner), so:
//   kc: the depth of a packed panel. The MR×kc sliver of A stays in L1 (about half of it)
//       while the micro-kernel sweeps it across the whole B block (a configuration may allow
//       a longer one where that residency buys little: BlockLimits::l1_long_percent).
//   nc: columns of the packed B block, which stays in L2 (about half of it) and is
//       streamed through once per MR rows; fewer where each unit packs its own B block and
//       prefetches the next (one row block, several k blocks: an L2 budget below).
//   mc: rows of a work unit. With one k block (k <= kc, the multi-head case) every micro-
//       tile is stored to C as soon as it is computed, so mc only sets the unit size. With
//       several k blocks the unit's fp32 accumulation block (mc×nc) and its packed A block
//       (mc×kc) share the other half of L2.
// Nothing here depends on the thread count, so the reduction order (hence every bit of the
// result) does not either.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>

#include "../simd/cpu_features.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct Blocking {
  std::int64_t mc = 0, nc = 0, kc = 0;
  std::int64_t k_blocks = 1;  // number of kc steps (1: each tile is stored straight away)
};

inline std::int64_t round_up(std::int64_t x, std::int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }
inline std::int64_t round_down_min(std::int64_t x, std::int64_t multiple) {
  return std::max(multiple, x / multiple * multiple);
}

// The block size for cutting `extent` into as few blocks of at most about `max_block` as
// possible, all (but the last) the same multiple of `multiple`: 2048 rows with blocks of up
// to 1022 become 686 + 686 + 676 rather than 1022 + 1022 + 4.
inline std::int64_t even_split(std::int64_t extent, std::int64_t max_block, std::int64_t multiple) {
  const std::int64_t blocks = (extent + max_block - 1) / max_block;
  return round_up((extent + blocks - 1) / blocks, multiple);
}

// The largest kc the packing code supports (its per-row staging buffers are this long).
inline constexpr std::int64_t kMaxKc = 1024;

// The bounds a path puts on its blocks for one element type (gemm/paths.hpp: BLIS's
// per-dtype block-size columns). The blocks themselves follow from the caches the CPU
// reports, within these bounds.
struct BlockLimits {
  std::int64_t kc_max = kMaxKc;  // <= kMaxKc
  std::int64_t mc_max = 2048;
  std::int64_t nc_max = 8192;
  int l1_share = 2;              // the A sliver takes 1/l1_share of L1
  // A longer k block where the A sliver's residency across the row of tiles buys little: when
  // the whole k then fits one block (no accumulator round trips through the fp32 block), or
  // when the row is at most two tiles wide. Its sliver takes up to l1_long_percent % of L1
  // (0: no longer block).
  int l1_long_percent = 0;
  // Bytes a packed element takes (4: fp32 panels; 2: bfloat16 pair panels).
  std::int64_t panel_bytes = 4;
};

// Block sizes for a kernel with an mr×nr register tile on a problem m×n×k. prefetched_bytes:
// the bytes per element of the next k block that L2 holds while a block computes, its raw
// lines fetched ahead (gemm/block_prefetch.hpp) or its panels packed in pieces
// (gemm/driver.hpp); 0: the kernel fetches nothing ahead.
inline Blocking make_blocking(std::int64_t mr, std::int64_t nr, const BlockLimits& lim, std::int64_t m, std::int64_t n,
                              std::int64_t k, const CpuFeatures& cpu, std::int64_t prefetched_bytes = 0) {
  // Unknown caches: assume a modest modern core (32 KiB L1d, 1 MiB L2).
  const std::int64_t l1 = cpu.l1d > 0 ? cpu.l1d : 32 * 1024;
  const std::int64_t l2 = cpu.l2 > 0 ? cpu.l2 : 1024 * 1024;
  const std::int64_t f = sizeof(float);
  Blocking b;
  // kc: the A sliver fills about half of L1.
  std::int64_t kc_max = std::clamp<std::int64_t>((l1 / lim.l1_share) / (mr * f) / 16 * 16, 32, std::min(lim.kc_max, kMaxKc));
  k = std::max<std::int64_t>(k, 1);
  if (lim.l1_long_percent > 0) {
    const std::int64_t kc_long = std::clamp<std::int64_t>(
        l1 * lim.l1_long_percent / 100 / (mr * lim.panel_bytes) / 16 * 16, kc_max, std::min(lim.kc_max, kMaxKc));
    if (k <= kc_long || n <= 2 * nr) kc_max = kc_long;
  }
  b.k_blocks = (k + kc_max - 1) / kc_max;
  b.kc = b.k_blocks == 1 ? k : round_up((k + b.k_blocks - 1) / b.k_blocks, 16);  // an even split of k
  b.k_blocks = (k + b.kc - 1) / b.kc;
  // nc: the packed B block takes about half of L2.
  std::int64_t nc = (l2 / 2) / (b.kc * f);
  nc = std::clamp<std::int64_t>(round_down_min(nc, nr), nr, std::max<std::int64_t>(lim.nc_max, nr));
  b.nc = even_split(std::max<std::int64_t>(n, 1), nc, nr);
  // mc: a quarter of L2 for the packed A block (one k block), or the other half of L2 for the
  // fp32 accumulation block and the A block (several).
  std::int64_t mc = b.k_blocks == 1 ? (l2 / 4) / (b.kc * f) : (l2 / 2) / ((b.nc + b.kc) * f);
  mc = std::clamp<std::int64_t>(round_down_min(mc, mr), mr, std::max<std::int64_t>(lim.mc_max, mr));
  b.mc = even_split(std::max<std::int64_t>(m, 1), mc, mr);
  // All of m in one row block, over several k blocks (dW = Aᵀ·dO, k = the batch's rows): no
  // unit shares its B block with the next, so each packs its own and, while a block computes,
  // brings the next into L2 (as raw lines, or packed in pieces). Then the packed B block, the
  // next one, the fp32 C block (rows of nc + 16 floats: GemmPlan::ldc) and the A block with
  // its next lines must all fit L2 together; with fp32 panels the rule above asks for more
  // than L2 holds, and the next block pushes the B block out of L2 while the kernel still
  // sweeps it.
  if (b.k_blocks > 1 && prefetched_bytes > 0 && b.mc >= m) {
    const std::int64_t mc_pad = round_up(std::max<std::int64_t>(m, 1), mr);
    const std::int64_t fixed = mc_pad * 16 * f + mc_pad * b.kc * (lim.panel_bytes + prefetched_bytes);
    const std::int64_t per_column = b.kc * (lim.panel_bytes + prefetched_bytes) + mc_pad * f;
    const std::int64_t fit = (l2 - fixed) / per_column / nr * nr;
    if (fit >= nr && fit < b.nc) b.nc = even_split(std::max<std::int64_t>(n, 1), fit, nr);
  }
  return b;
}

inline Blocking make_blocking(std::int64_t mr, std::int64_t nr, std::int64_t m, std::int64_t n, std::int64_t k,
                              const CpuFeatures& cpu) {
  return make_blocking(mr, nr, BlockLimits{}, m, n, k, cpu);
}

// The fp32 scratch floats store.hpp's prepare_epilogue needs for a unit of mc × nc (its bias
// slice, padded to whole vectors).
inline std::int64_t epilogue_floats(std::int64_t mc, std::int64_t nc) { return round_up(std::max(mc, nc), 32) + 32; }

}  // namespace detail
TESSEL_NAMESPACE_END
