// tessel/simd/throughput.hpp — loops that run one arithmetic instruction at the core's peak
// rate: the measurement behind the bfloat16 route choice (gemm/bf16_route.hpp) and behind the
// benchmarks' "% of peak" (bench/peak.hpp). Callers time them their own way.
//
// A chain of dependent FMAs runs at 1/latency; the peak needs more independent chains than
// latency × FMA ports (4 cycles × 2 ports on Zen 4/5 and Sapphire/Emerald Rapids), hence the
// Chains parameter (16 and more). Each accumulator starts from a different value:
// accumulators that start equal and see the same operands are provably equal, and a compiler
// may merge them into one chain, which made an earlier benchmark report 1.5× the true peak.
// noipa keeps each loop a real call whose result depends on every accumulator.
//
//   fma_chains_avx512<Chains>(iters, x, y)   Chains × iters zmm FMAs   (16 lanes × 2 flops each)
//   fma_chains_avx2<Chains>(iters, x, y)     Chains × iters ymm FMAs   (8 lanes × 2)
//   dpbf16_chains<Chains>(iters, x, y)       Chains × iters vdpbf16ps  (16 lanes × 2 pairs × 2)
// With x = 0.5, y = 0.25 the accumulators converge to 0.5 and stay finite and normal.
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "target.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

#if defined(TESSEL_HAVE_X86_TARGETS)
TESSEL_SIMD_CODE_BEGIN

template <int Chains>
TESSEL_TARGET_AVX512 TESSEL_NOIPA float fma_chains_avx512(std::int64_t iters, float x, float y) {
  __m512 acc[Chains];
  const __m512 a = _mm512_set1_ps(x), b = _mm512_set1_ps(y);
#pragma GCC unroll 32
  for (int i = 0; i < Chains; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.125f * float(i));  // all different
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < Chains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 32
  for (int i = 1; i < Chains; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

template <int Chains>
TESSEL_TARGET_AVX2 TESSEL_NOIPA float fma_chains_avx2(std::int64_t iters, float x, float y) {
  __m256 acc[Chains];
  const __m256 a = _mm256_set1_ps(x), b = _mm256_set1_ps(y);
#pragma GCC unroll 32
  for (int i = 0; i < Chains; ++i) acc[i] = _mm256_set1_ps(1.0f + 0.125f * float(i));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < Chains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
#pragma GCC unroll 32
  for (int i = 1; i < Chains; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

template <int Chains>
TESSEL_TARGET_AVX512_BF16 TESSEL_NOIPA float dpbf16_chains(std::int64_t iters, float x, float y) {
  __m512 acc[Chains];
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(x), _mm512_set1_ps(x));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(y), _mm512_set1_ps(y));
#pragma GCC unroll 32
  for (int i = 0; i < Chains; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.125f * float(i));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < Chains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 32
  for (int i = 1; i < Chains; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

TESSEL_SIMD_CODE_END
#endif  // TESSEL_HAVE_X86_TARGETS

// Flops per iteration of each loop with Chains chains.
inline constexpr double fma_avx512_flops(int chains) { return chains * 16.0 * 2; }
inline constexpr double fma_avx2_flops(int chains) { return chains * 8.0 * 2; }
inline constexpr double dpbf16_flops(int chains) { return chains * 16.0 * 4; }

}  // namespace detail
TESSEL_NAMESPACE_END
