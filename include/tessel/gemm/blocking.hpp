// tessel/gemm/blocking.hpp — cache block sizes, derived from the caches the CPU reports.
//
// BLIS's three blocking parameters, for one (kernel, problem):
//   kc: the depth of a packed panel. An MR×kc sliver of A and a kc×NR sliver of B should
//       sit in L1 together while the micro-kernel streams through them.
//   mc: rows of the packed A block, which stays in L2 across the whole row of micro-tiles.
//   nc: columns of the packed B block; with the mc×nc fp32 accumulation block of C it must
//       stay in L2 too, since every micro-tile writes there once per kc step.
// Nothing here depends on the thread count, so the reduction order (hence every bit of the
// result) does not either.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../simd/cpu_features.hpp"

namespace tessel::detail {

struct Blocking {
  std::int64_t mc = 0, nc = 0, kc = 0;
};

inline std::int64_t round_up(std::int64_t x, std::int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }
inline std::int64_t round_down_min(std::int64_t x, std::int64_t multiple) {
  return std::max(multiple, x / multiple * multiple);
}

// The largest kc the packing code supports (its per-row staging buffer is this long).
inline constexpr std::int64_t kMaxKc = 1024;

// Block sizes for a kernel with an mr×nr register tile on a problem m×n×k.
inline Blocking make_blocking(std::int64_t mr, std::int64_t nr, std::int64_t m, std::int64_t n, std::int64_t k,
                              const CpuFeatures& cpu) {
  // Unknown caches: assume a modest modern core (32 KiB L1d, 1 MiB L2).
  const std::int64_t l1 = cpu.l1d > 0 ? cpu.l1d : 32 * 1024;
  const std::int64_t l2 = cpu.l2 > 0 ? cpu.l2 : 1024 * 1024;
  const std::int64_t f = sizeof(float);
  Blocking b;
  // kc: A and B slivers fill about half of L1, the rest is left for C lines and prefetch.
  std::int64_t kc = (l1 / 2) / ((mr + nr) * f);
  kc = std::clamp<std::int64_t>(kc / 16 * 16, 64, kMaxKc);
  if (k <= kc + kc / 2) kc = std::max<std::int64_t>(k, 1);  // one block, no split remainder of a few k
  else kc = round_up((k + ((k + kc - 1) / kc) - 1) / ((k + kc - 1) / kc), 16);  // even split of k
  b.kc = std::min(kc, kMaxKc);
  // mc: the packed A block takes about a quarter of L2.
  std::int64_t mc = (l2 / 4) / (b.kc * f);
  mc = std::clamp<std::int64_t>(round_down_min(mc, mr), mr, 1024);
  b.mc = std::min(mc, round_up(std::max<std::int64_t>(m, 1), mr));
  // nc: the packed B block and the fp32 C block share another half of L2.
  std::int64_t nc = (l2 / 2) / ((b.kc + b.mc) * f);
  nc = std::clamp<std::int64_t>(round_down_min(nc, nr), nr, 4096);
  b.nc = std::min(nc, round_up(std::max<std::int64_t>(n, 1), nr));
  return b;
}

}  // namespace tessel::detail
