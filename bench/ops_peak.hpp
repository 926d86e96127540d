// bench/ops_peak.hpp — the machine's arithmetic peak, measured in the benchmark's own run.
//
//   ops_peak::fp32_fma_gflops()   one core: FMAs on many independent accumulators (AVX-512
//                                 zmm when the CPU and OS allow it, else AVX2 ymm), GFLOP/s
//   ops_peak::bf16_dot_gflops()   one core: vdpbf16ps (32 bf16 products + sums = 64 FLOPs per
//                                 instruction), 0 when the CPU lacks AVX512_BF16
//   ops_peak::peak_gflops(bf16, threads)
//                                 fp32 peak × threads, or for bfloat16 the higher of the fp32
//                                 and vdpbf16ps peaks × threads
// Each peak is the best of 20 runs of ~5 ms, measured once per process. The kernels are
// compiled through target attributes (no -march), like tessel's own.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include <tessel/tessel.hpp>

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

namespace ops_peak {

#if defined(TESSEL_HAVE_X86_TARGETS)
// 24 independent accumulators, each started from a different value: enough to cover FMA
// latency × throughput on current x86 cores (4–5 cycles × 2 per cycle). Each iteration
// multiplies by a value just below 1 and adds a tiny constant, so nothing overflows or
// becomes subnormal.
#define OPS_PEAK_REPEAT24(X) \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) \
  X(19) X(20) X(21) X(22) X(23)

TESSEL_TARGET_AVX512 inline float fma_loop_avx512(std::int64_t iters) {
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#define DECL(i) __m512 a##i = _mm512_set1_ps(1.0f + 0.01f * (i));
  OPS_PEAK_REPEAT24(DECL)
#undef DECL
  for (std::int64_t it = 0; it < iters; ++it) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
    OPS_PEAK_REPEAT24(STEP)
#undef STEP
    __asm__ volatile("" ::: "memory");
  }
  __m512 sum = _mm512_setzero_ps();
#define SUM(i) sum = _mm512_add_ps(sum, a##i);
  OPS_PEAK_REPEAT24(SUM)
#undef SUM
  return _mm512_reduce_add_ps(sum);
}

TESSEL_TARGET_AVX2 inline float fma_loop_avx2(std::int64_t iters) {
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define DECL(i) __m256 a##i = _mm256_set1_ps(1.0f + 0.01f * (i));
  // 12 ymm accumulators (16 registers, leave room for the constants).
  DECL(0) DECL(1) DECL(2) DECL(3) DECL(4) DECL(5) DECL(6) DECL(7) DECL(8) DECL(9) DECL(10) DECL(11)
#undef DECL
  for (std::int64_t it = 0; it < iters; ++it) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, m, c);
    STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10) STEP(11)
#undef STEP
    __asm__ volatile("" ::: "memory");
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                           _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

TESSEL_TARGET_AVX512_BF16 inline float dpbf16_loop(std::int64_t iters) {
  // Pairs of small bf16 values: the accumulators grow slowly and stay normal.
  const __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(2e-3f));
  const __m512bh y = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(-1e-3f));
#define DECL(i) __m512 a##i = _mm512_set1_ps(1.0f + 0.01f * (i));
  OPS_PEAK_REPEAT24(DECL)
#undef DECL
  for (std::int64_t it = 0; it < iters; ++it) {
#define STEP(i) a##i = _mm512_dpbf16_ps(a##i, x, y);
    OPS_PEAK_REPEAT24(STEP)
#undef STEP
    __asm__ volatile("" ::: "memory");
  }
  __m512 sum = _mm512_setzero_ps();
#define SUM(i) sum = _mm512_add_ps(sum, a##i);
  OPS_PEAK_REPEAT24(SUM)
#undef SUM
  return _mm512_reduce_add_ps(sum);
}
#undef OPS_PEAK_REPEAT24
#endif

inline float scalar_loop(std::int64_t iters) {  // no x86 SIMD: 8 scalar chains
  float a[8] = {1, 1.01f, 1.02f, 1.03f, 1.04f, 1.05f, 1.06f, 1.07f};
  for (std::int64_t it = 0; it < iters; ++it) {
    for (float& v : a) v = v * 0.999999f + 1e-7f;
    __asm__ volatile("" ::: "memory");
  }
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

// GFLOP/s of loop(iters) doing flops_per_iter each: best of 20 runs of ~5 ms (short runs,
// so that on a shared machine some of them run undisturbed).
template <class Loop>
double measure(Loop loop, double flops_per_iter) {
  volatile float sink = 0;
  std::int64_t iters = 1 << 14;
  for (;;) {  // calibrate to ~5 ms
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + loop(iters);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sec > 0.005) break;
    iters *= 2;
  }
  double best = 0;
  for (int r = 0; r < 20; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + loop(iters);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flops_per_iter * static_cast<double>(iters) / sec * 1e-9);
  }
  return best;
}

// One core's fp32 FMA peak in GFLOP/s.
inline double fp32_fma_gflops() {
  static const double peak = [] {
#if defined(TESSEL_HAVE_X86_TARGETS)
    const auto& f = tessel::cpu_features();
    if (f.has_avx512_path()) return measure(fma_loop_avx512, 24.0 * 16 * 2);
    if (f.has_avx2_path()) return measure(fma_loop_avx2, 12.0 * 8 * 2);
#endif
    return measure(scalar_loop, 8.0 * 2);
  }();
  return peak;
}

// One core's vdpbf16ps peak in GFLOP/s (0 without AVX512_BF16).
inline double bf16_dot_gflops() {
  static const double peak = [] {
#if defined(TESSEL_HAVE_X86_TARGETS)
    const auto& f = tessel::cpu_features();
    if (f.has_avx512_path() && f.avx512_bf16) return measure(dpbf16_loop, 24.0 * 64);
#endif
    return 0.0;
  }();
  return peak;
}

// The peak a run on `threads` threads is judged against (GFLOP/s).
inline double peak_gflops(bool bfloat16, int threads) {
  const double one = bfloat16 ? std::max(fp32_fma_gflops(), bf16_dot_gflops()) : fp32_fma_gflops();
  return one * threads;
}

}  // namespace ops_peak
