// tessel/gemm/kernel_scalar.hpp — the portable micro-kernel, and the contract all share.
//
// Micro-kernel contract (every ISA):
//   Kernel::isa       the ISA whose packing/conversion code goes with it
//   Kernel::MR, NR    the register tile
//   Kernel::run(kc, Ap, Bp, C, ldc, accumulate)
//       C[i*ldc + j] (= or +=) Σ_{p < kc} Ap[p*MR + i] · Bp[p*NR + j]     i < MR, j < NR
//   * Ap, Bp are packed fp32 panels (gemm/pack.hpp), 64-byte aligned, zero-padded, so the
//     kernel always computes a full tile; kc >= 1.
//   * C is the driver's fp32 block buffer, never the user's output: rows are 64-byte
//     aligned (ldc is a multiple of 16). Edge tiles, dtype conversion, accumulation onto the
//     user's C and streaming stores are the store's job (store_block), not the kernel's.
//   * With accumulate == false C is only written, never read.
//   * The sum runs over p in increasing order, in fp32; the result may not depend on
//     anything but (kc, Ap, Bp), so it cannot depend on the thread count.
// Optional (the driver asks with `requires`, driver.hpp):
//   run(kc, Ap, Bp, C, ldc, accumulate, BlockPrefetch* next)  also prefetches the unit's
//       next k block, one next->step() per step of its k loop (nullptr: none); same result.
//   run_store / flush / spread_store<T>  write the previous tile to C meanwhile (kernel_avx512.hpp)
//   pack_a / pack_b / blocking  the kernel's own panel format and cache blocks
//   may_run_transposed = false  never run as Cᵀ = Bᵀ·Aᵀ (run_gemm)
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "../simd/cpu_features.hpp"
#include "../simd/target.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct ScalarKernel {
  static constexpr Isa isa = Isa::scalar;
  static constexpr int MR = 4;
  static constexpr int NR = 16;

  static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc, bool accumulate) {
    float acc[MR][NR] = {};
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* a = Ap + p * MR;
      const float* b = Bp + p * NR;
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    }
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) C[i * ldc + j] = accumulate ? C[i * ldc + j] + acc[i][j] : acc[i][j];
  }
};

}  // namespace detail
TESSEL_NAMESPACE_END
