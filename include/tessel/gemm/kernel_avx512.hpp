// tessel/gemm/kernel_avx512.hpp — the AVX-512 fp32 micro-kernel (contract: kernel_contract.hpp).
//
// Register tile MR×NR = 14×32: 28 zmm accumulators (14 rows × two 16-float vectors), two
// zmm for the B row of each k step, and A's 14 values broadcast straight from memory as
// the FMA's embedded-broadcast operand (vfmadd231ps zmm, zmm, m32{1to16}), so 30 of the 32
// zmm registers are live and nothing spills. Per k step: 2 vector loads + 14 broadcast
// loads feed 28 FMAs, fewer than the two loads per cycle both Zen 4/5 and Sapphire/Emerald
// Rapids sustain, and 28 independent chains hide the 4-cycle FMA latency on either core.
//
// run_output: the tile from the registers straight to C (no fp32 buffer, no reload), which
// the driver takes for every whole tile of a last k block whose output it may overwrite.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/convert.hpp"
#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "block_prefetch.hpp"
#include "kernel_contract.hpp"
#include "store.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// Writes an MR×32 accumulator tile to the fp32 block buffer (the contract's C), adding to
// what is there when accumulating. Shared by the fp32 and the bfloat16-pair kernels.
template <int MR>
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void write_tile(float* C, std::int64_t ldc, const __m512 (&c)[MR][2],
                                                          bool accumulate) {
  if (accumulate) {
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      float* ci = C + i * ldc;
      _mm512_store_ps(ci, _mm512_add_ps(_mm512_load_ps(ci), c[i][0]));
      _mm512_store_ps(ci + 16, _mm512_add_ps(_mm512_load_ps(ci + 16), c[i][1]));
    }
  } else {
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      _mm512_store_ps(C + i * ldc, c[i][0]);
      _mm512_store_ps(C + i * ldc + 16, c[i][1]);
    }
  }
}

struct Avx512Kernel {
  static constexpr Isa isa = Isa::avx512;
  static constexpr int MR = 14;
  static constexpr int NR = 32;
  // pack.hpp packs an A contiguous along m a block at a time on this path (pack_lines).
  static constexpr KernelFeatures features{.prefetches_next_block = true,
                                           .writes_output = true,
                                           .short_panels = true,
                                           .packs_a_block_of_lines = true,
                                           .packs_b_in_pieces = true};

  // One k step of the tile's first R rows: c[i][:] += A[i, p] * B[p, :] (A broadcast, B two
  // vectors).
  template <int R>
  TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE static void fma_step(__m512 (&c)[R][2], const float* a, const float* b) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
    }
  }

  // Steps of run()'s k loop (BlockPrefetch::step calls) for depth kc: one per two k.
  static constexpr std::int64_t prefetch_steps(std::int64_t kc) { return kc / 2; }

  // The tile's first R rows, to the fp32 buffer C (out == nullptr) or, R == MR, to the output;
  // with `next`, one line of the unit's next k block is prefetched per two k steps
  // (gemm/block_prefetch.hpp).
  template <class TC, int R = MR>
  TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE static void compute(std::int64_t kc, const float* Ap, const float* Bp,
                                                                float* C, std::int64_t ldc, bool accumulate,
                                                                const OutputTile<TC, MR>* out, BlockPrefetch* next) {
    __m512 c[R][2];
#pragma GCC unroll 14
    for (int i = 0; i < R; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
    // Two k steps per iteration: fewer loop branches, and the next B row's loads issue early.
    std::int64_t p = 0;
    for (; p + 2 <= kc; p += 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) fma_step(c, Ap + (p + u) * MR, Bp + (p + u) * NR);
      if (next) next->step();
    }
    if (p < kc) fma_step(c, Ap + p * MR, Bp + p * NR);
    if constexpr (R == MR) {
      if (out != nullptr) return isa_avx512::store_register_tile(*out, c);
    }
    write_tile<R>(C, ldc, c, accumulate);
  }

  TESSEL_TARGET_AVX512 static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                       std::int64_t ldc, bool accumulate, BlockPrefetch* next = nullptr) {
    compute<float>(kc, Ap, Bp, C, ldc, accumulate, nullptr, next);
  }

  // run() of the panel's first `rows` rows (kernel_contract.hpp: short_panels).
  static void run_rows(int rows, std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc,
                       bool accumulate, BlockPrefetch* next = nullptr) {
    static constexpr auto runs = per_row_count<MR>([]<int R>() { return &run_first_rows<R>; });
    runs[static_cast<std::size_t>(rows - 1)](kc, Ap, Bp, C, ldc, accumulate, next);
  }
  template <int R>
  TESSEL_TARGET_AVX512 static void run_first_rows(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                                  std::int64_t ldc, bool accumulate, BlockPrefetch* next) {
    compute<float, R>(kc, Ap, Bp, C, ldc, accumulate, nullptr, next);
  }

  // Output types run_output can write (with the store's conversions, whatever the fp32 values).
  template <class TC>
  static constexpr bool output_store = std::is_same_v<TC, float> || std::is_same_v<TC, float16>;

  // run() of a whole tile, the sums written to the output (kernel_contract.hpp: writes_output).
  template <class TC>
  TESSEL_TARGET_AVX512 static void run_output(std::int64_t kc, const float* Ap, const float* Bp,
                                              const OutputTile<TC, MR>& out, BlockPrefetch* next = nullptr) {
    static_assert(output_store<TC>);
    compute<TC>(kc, Ap, Bp, nullptr, 0, false, &out, next);
  }
};

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END

#endif  // TESSEL_HAVE_X86_TARGETS
