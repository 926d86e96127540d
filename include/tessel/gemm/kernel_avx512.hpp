// tessel/gemm/kernel_avx512.hpp — the AVX-512 fp32 micro-kernel (contract: kernel_scalar.hpp).
//
// Register tile MR×NR = 14×32: 28 zmm accumulators (14 rows × two 16-float vectors), two
// zmm for the B row of each k step, and A's 14 values broadcast straight from memory as
// the FMA's embedded-broadcast operand (vfmadd231ps zmm, zmm, m32{1to16}), so 30 of the 32
// zmm registers are live and nothing spills. Per k step: 2 vector loads + 14 broadcast
// loads feed 28 FMAs, fewer than the two loads per cycle both Zen 4/5 and Sapphire/Emerald
// Rapids sustain, and 28 independent chains hide the 4-cycle FMA latency on either core.
#pragma once

#include <cstdint>

#include "../simd/cpu_features.hpp"
#include "../simd/target.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>

namespace tessel::detail::inline TESSEL_FLAGS_NS {
TESSEL_SIMD_CODE_BEGIN

struct Avx512Kernel {
  static constexpr Isa isa = Isa::avx512;
  static constexpr int MR = 14;
  static constexpr int NR = 32;

  TESSEL_TARGET_AVX512 static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                       std::int64_t ldc, bool accumulate) {
    __m512 c[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
    // Two k steps per iteration: fewer loop branches, and the next B row's loads issue early.
    std::int64_t p = 0;
    for (; p + 2 <= kc; p += 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 2; ++u) {
        const __m512 b0 = _mm512_load_ps(Bp + (p + u) * NR);
        const __m512 b1 = _mm512_load_ps(Bp + (p + u) * NR + 16);
        const float* a = Ap + (p + u) * MR;
#pragma GCC unroll 14
        for (int i = 0; i < MR; ++i) {
          const __m512 ai = _mm512_set1_ps(a[i]);
          c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
          c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
        }
      }
    }
    if (p < kc) {
      const __m512 b0 = _mm512_load_ps(Bp + p * NR);
      const __m512 b1 = _mm512_load_ps(Bp + p * NR + 16);
      const float* a = Ap + p * MR;
#pragma GCC unroll 14
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(a[i]);
        c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
        c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
      }
    }
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
};

TESSEL_SIMD_CODE_END
}  // namespace tessel::detail::TESSEL_FLAGS_NS

#endif  // TESSEL_HAVE_X86_TARGETS
