// tessel/gemm/kernel_avx512_bf16.hpp — the AVX512-BF16 micro-kernel: bfloat16 pairs along k
// multiplied with vdpbf16ps (contract: kernel_contract.hpp; which calls take it:
// gemm/bf16_route.hpp and gemm/bf16_guard.hpp; its panels: gemm/pack_pairs.hpp).
//
//   C[i*ldc + j] (= or +=) Σ_q A[i,2q]·B[2q,j] + A[i,2q+1]·B[2q+1,j]     (fp32, vdpbf16ps)
//
// MR×NR = 14×32, like the fp32 kernel (kernel_avx512.hpp): 28 zmm accumulators, two zmm of
// B pairs per k pair, A's pair broadcast from memory as vdpbf16ps's operand, so 30 zmm are
// live. Per k pair: 2 vector loads + 28 broadcast loads feed 28 vdpbf16ps (896
// multiply-adds). Like the fp32 kernel it has run_output: the tile from the registers
// straight to C, rounded exactly as every other store rounds.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "block_prefetch.hpp"
#include "kernel_avx512.hpp"
#include "kernel_contract.hpp"
#include "pack_pairs.hpp"
#include "store.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// c += broadcast(*pair) · b with vdpbf16ps's embedded broadcast of a 32-bit pair from memory
// (m32{1to16}). GCC does not fold _mm512_set1_epi32 into the instruction: it would hold each
// broadcast in a register and load it separately.
TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE void dpbf16_bcast(__m512& c, const std::uint32_t* pair, __m512 b) {
  __asm__("vdpbf16ps %2%{1to16%}, %1, %0" : "+v"(c) : "v"(b), "m"(*pair));
}

struct Avx512Bf16Kernel {
  static constexpr Isa isa = Isa::avx512;
  static constexpr int MR = 14;
  static constexpr int NR = 32;
  using Panels = PairPanels<MR, NR>;
  // Never run as Cᵀ = Bᵀ·Aᵀ: for dW = A3ᵀ·dO that makes dO the A operand, contiguous along
  // m, whose pairs along k pack panel by panel from lines pages apart, much slower than
  // packing dO as B rows, in spite of the 14-row tiles' padding of m = 64.
  static constexpr KernelFeatures features{.prefetches_next_block = true,
                                           .writes_output = true,
                                           .own_panels = true,
                                           .short_panels = true,
                                           .packs_a_block_of_lines = true,
                                           .packs_b_in_pieces = true,
                                           .checks_panels = true,
                                           .runs_transposed = false,
                                           .needs = kFeatureAvx512Bf16};
  static constexpr std::int64_t kGroup = Panels::kGroup;

  // One k pair of the tile's first R rows: c[i][:] += A[i, pair] · B[pair, :] for rows at
  // a + i·stride.
  template <int R>
  TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE static void dp_step(__m512 (&c)[R][2], const std::uint32_t* a,
                                                                     std::int64_t stride, const std::uint32_t* b) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < R; ++i) {
      dpbf16_bcast(c[i][0], a + i * stride, b0);
      dpbf16_bcast(c[i][1], a + i * stride, b1);
    }
  }

  // The tile's first R rows, to the fp32 buffer C (output == nullptr) or, R == MR, to the
  // output.
  template <class TC, int R = MR>
  TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE static void compute(std::int64_t kc, const float* Ap, const float* Bp,
                                                                     float* C, std::int64_t ldc, bool accumulate,
                                                                     const OutputTile<TC, MR>* output,
                                                                     BlockPrefetch* next) {
    const auto* A = reinterpret_cast<const std::uint32_t*>(Ap);
    const auto* B = reinterpret_cast<const std::uint32_t*>(Bp);
    const std::int64_t pairs = (kc + 1) / 2;
    __m512 c[R][2];
#pragma GCC unroll 14
    for (int i = 0; i < R; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
    if (kc >= kGroup) {
      const std::uint32_t* b = B;
      for (std::int64_t q0 = 0; q0 < pairs; q0 += kGroup, A += kGroup * MR) {
        const std::uint32_t* const bend = b + std::min(kGroup, pairs - q0) * NR;
        for (const std::uint32_t* a = A; b < bend; b += NR, ++a) {
          dp_step(c, a, kGroup, b);
          if (next) next->step();
        }
      }
    } else {
      for (std::int64_t u = 0; u < pairs; ++u) {
        dp_step(c, A + u, pairs, B + u * NR);
        if (next) next->step();
      }
    }
    if constexpr (R == MR) {
      if (output != nullptr) {
        // vdpbf16ps flushes denormal results to zero, so no sum here is an fp32 denormal and
        // vcvtne2ps2bf16 rounds all of them as the store does (what the output adds is checked).
        if constexpr (std::is_same_v<TC, bfloat16>) isa_avx512_bf16::store_register_tile_normal(*output, c);
        else isa_avx512::store_register_tile(*output, c);
        return;
      }
    }
    write_tile<R>(C, ldc, c, accumulate);
  }

  // Steps of run()'s k loop (BlockPrefetch::step calls) for depth kc: one per k pair.
  static constexpr std::int64_t prefetch_steps(std::int64_t kc) { return (kc + 1) / 2; }

  // The tile on the packed pair panels; with `next`, one line of the unit's next k block is
  // prefetched per k pair.
  TESSEL_TARGET_AVX512_BF16 static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                            std::int64_t ldc, bool accumulate, BlockPrefetch* next = nullptr) {
    compute<bfloat16>(kc, Ap, Bp, C, ldc, accumulate, nullptr, next);
  }

  // run() of the panel's first `rows` rows (kernel_contract.hpp: short_panels).
  static void run_rows(int rows, std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc,
                       bool accumulate, BlockPrefetch* next = nullptr) {
    static constexpr auto runs = per_row_count<MR>([]<int R>() { return &run_first_rows<R>; });
    runs[static_cast<std::size_t>(rows - 1)](kc, Ap, Bp, C, ldc, accumulate, next);
  }
  template <int R>
  TESSEL_TARGET_AVX512_BF16 static void run_first_rows(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                                       std::int64_t ldc, bool accumulate, BlockPrefetch* next) {
    compute<bfloat16, R>(kc, Ap, Bp, C, ldc, accumulate, nullptr, next);
  }

  // Output types run_output can write: bfloat16 and fp32.
  template <class TC>
  static constexpr bool output_store = std::is_same_v<TC, bfloat16> || std::is_same_v<TC, float>;

  // run() of a whole tile, the sums written to the output (kernel_contract.hpp: writes_output).
  template <class TC>
  TESSEL_TARGET_AVX512_BF16 static void run_output(std::int64_t kc, const float* Ap, const float* Bp,
                                                   const OutputTile<TC, MR>& out, BlockPrefetch* next = nullptr) {
    static_assert(output_store<TC>);
    compute<TC>(kc, Ap, Bp, nullptr, 0, false, &out, next);
  }

  // The pair panels (gemm/pack_pairs.hpp) and their check for tiny values.
  template <class T>
  static void pack_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, float* out) {
    Panels::pack_a(a, g, i0, mc, p0, kc, out);
  }
  template <class T>
  static void pack_b(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, float* out) {
    Panels::pack_b(b, g, p0, kc, j0, nc, out);
  }
  template <class T>
  static void pack_b_piece(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc,
                           std::int64_t r0, std::int64_t r1, std::int64_t j0, std::int64_t nc, float* out) {
    Panels::pack_b_piece(b, g, p0, kc, r0, r1, j0, nc, out);
  }
  static bool a_panel_rejects(const float* panel, std::int64_t kc) { return Panels::a_panel_rejects(panel, kc); }
  static bool b_block_rejects(const float* block, std::int64_t nc, std::int64_t kc) {
    return Panels::b_block_rejects(block, nc, kc);
  }
};

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END

#endif  // TESSEL_HAVE_X86_TARGETS
