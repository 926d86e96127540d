// tessel/gemm/kernel_avx2.hpp — the AVX2 + FMA fp32 micro-kernel (contract: kernel_contract.hpp).
//
// Register tile MR×NR = 6×16: 12 ymm accumulators, two ymm for the B row of each k step and
// one broadcast of A (16 ymm registers in all, none spilled). 12 independent FMA chains
// cover two FMA ports × 4–5 cycles of latency on every AVX2 core we know (Haswell to Zen 5).
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "kernel_contract.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

struct Avx2Kernel {
  static constexpr Isa isa = Isa::avx2;
  static constexpr int MR = 6;
  static constexpr int NR = 16;
  static constexpr KernelFeatures features{};

  TESSEL_TARGET_AVX2 static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                     std::int64_t ldc, bool accumulate) {
    __m256 c[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
    for (std::int64_t p = 0; p < kc; ++p) {
      const __m256 b0 = _mm256_load_ps(Bp + p * NR);
      const __m256 b1 = _mm256_load_ps(Bp + p * NR + 8);
      const float* a = Ap + p * MR;
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) {
        const __m256 ai = _mm256_broadcast_ss(a + i);
        c[i][0] = _mm256_fmadd_ps(ai, b0, c[i][0]);
        c[i][1] = _mm256_fmadd_ps(ai, b1, c[i][1]);
      }
    }
    if (accumulate) {
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) {
        float* ci = C + i * ldc;
        _mm256_store_ps(ci, _mm256_add_ps(_mm256_load_ps(ci), c[i][0]));
        _mm256_store_ps(ci + 8, _mm256_add_ps(_mm256_load_ps(ci + 8), c[i][1]));
      }
    } else {
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) {
        _mm256_store_ps(C + i * ldc, c[i][0]);
        _mm256_store_ps(C + i * ldc + 8, c[i][1]);
      }
    }
  }
};

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END

#endif  // TESSEL_HAVE_X86_TARGETS
