// bench/peak.hpp — the machine's arithmetic peak per core, measured in the same run.
//
// A chain of FMAs into one accumulator runs at 1/latency; the peak needs more independent
// chains than latency × FMA ports (4 cycles × 2 ports on Zen 4/5 and Sapphire/Emerald
// Rapids). We run 24 chains. Each accumulator starts from a different value: accumulators
// that start equal and see the same operands are provably equal, and the compiler may then
// merge them into one chain and multiply the count, which made an earlier version report
// 1.5× the true peak. Checked with `objdump -d --no-show-raw-insn bench_peak | grep -c
// vfmadd` on the inner loop: 24 distinct zmm accumulators (zmm0..zmm23), 24 vfmadd231ps per
// iteration, no spills (and likewise 24 vdpbf16ps for the BF16 loop, 12 ymm chains ×2
// unrolled for AVX2).
//
//   tessel_bench::peak_gflops(PeakKind)   per-core GFLOP/s, measured once and cached
//   tessel_bench::fp32_peak_gflops()      the fp32 FMA peak of the path tessel uses
//   tessel_bench::report(state, flops, threads, peak)
//                                         sets GFLOP/s and %peak counters on a benchmark
#pragma once

#include <benchmark/benchmark.h>

#include <tessel/simd/cpu_features.hpp>
#include <tessel/simd/target.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

namespace tessel_bench {

enum class PeakKind { fma_avx512, fma_avx2, dpbf16_avx512 };

#if defined(TESSEL_HAVE_X86_TARGETS)
// Each returns a value depending on every accumulator so nothing is dead code.
// flops per iteration: 24 chains × 16 lanes × 2.
TESSEL_TARGET_AVX512 __attribute__((noipa)) inline float fma_loop_avx512(std::int64_t iters, float x, float y) {
  constexpr int N = 24;
  __m512 acc[N];
  const __m512 a = _mm512_set1_ps(x), b = _mm512_set1_ps(y);
#pragma GCC unroll 24
  for (int i = 0; i < N; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.125f * float(i));  // all different
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < N; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 24
  for (int i = 1; i < N; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
// 24 chains × 8 lanes × 2.
TESSEL_TARGET_AVX2 __attribute__((noipa)) inline float fma_loop_avx2(std::int64_t iters, float x, float y) {
  constexpr int N = 12;
  __m256 acc[2 * N];
  const __m256 a = _mm256_set1_ps(x), b = _mm256_set1_ps(y);
#pragma GCC unroll 24
  for (int i = 0; i < 2 * N; ++i) acc[i] = _mm256_set1_ps(1.0f + 0.125f * float(i));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 2 * N; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
#pragma GCC unroll 24
  for (int i = 1; i < 2 * N; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
// 24 chains × 16 lanes × 2 pairs × 2.
TESSEL_TARGET_AVX512_BF16 __attribute__((noipa)) inline float dpbf16_loop(std::int64_t iters, float x, float y) {
  constexpr int N = 24;
  __m512 acc[N];
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(x), _mm512_set1_ps(x));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(y), _mm512_set1_ps(y));
#pragma GCC unroll 24
  for (int i = 0; i < N; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.125f * float(i));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < N; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
#pragma GCC unroll 24
  for (int i = 1; i < N; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
#endif

inline bool peak_available(PeakKind k) {
  const auto& f = tessel::cpu_features();
  switch (k) {
    case PeakKind::fma_avx512: return f.has_avx512_path();
    case PeakKind::fma_avx2: return f.has_avx2_path();
    case PeakKind::dpbf16_avx512: return f.has_avx512_path() && f.avx512_bf16;
  }
  return false;
}

inline double flops_per_iter(PeakKind k) {
  switch (k) {
    case PeakKind::fma_avx512: return 24.0 * 16 * 2;
    case PeakKind::fma_avx2: return 24.0 * 8 * 2;
    case PeakKind::dpbf16_avx512: return 24.0 * 16 * 4;
  }
  return 0;
}

inline float run_loop(PeakKind k, std::int64_t iters) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  // Operands chosen so the accumulators stay finite and normal: acc·0.5 + 0.25 -> 0.5.
  switch (k) {
    case PeakKind::fma_avx512: return fma_loop_avx512(iters, 0.5f, 0.25f);
    case PeakKind::fma_avx2: return fma_loop_avx2(iters, 0.5f, 0.25f);
    case PeakKind::dpbf16_avx512: return dpbf16_loop(iters, 0.5f, 0.125f);
  }
#endif
  (void)k, (void)iters;
  return 0;
}

// This thread's CPU time in seconds: a shared machine deschedules us, and wall time would
// then understate the peak (we measured 74 instead of 114 GFLOP/s under load).
inline double thread_seconds() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
#else
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
#endif
}

// One measurement: the best of several >= 10 ms runs in thread CPU time.
inline double measure_gflops(PeakKind k) {
  if (!peak_available(k)) return 0;
  std::int64_t iters = 1 << 16;
  double best = 0;
  for (int rep = 0; rep < 12; ++rep) {
    const double t0 = thread_seconds();
    benchmark::DoNotOptimize(run_loop(k, iters));
    const double s = thread_seconds() - t0;
    if (s < 0.01) {
      iters *= 2;
      --rep;
      continue;
    }
    best = std::max(best, flops_per_iter(k) * double(iters) / s * 1e-9);
  }
  return best;
}

// Per-core GFLOP/s, measured once per process.
inline double peak_gflops(PeakKind k) {
  static double cache[3] = {-1, -1, -1};
  double& c = cache[static_cast<int>(k)];
  if (c < 0) c = measure_gflops(k);
  return c;
}

// The fp32 FMA peak of the widest path this CPU has (what tessel's fp32 kernels aim at).
inline double fp32_peak_gflops() {
  const double p512 = peak_gflops(PeakKind::fma_avx512);
  return p512 > 0 ? p512 : std::max(peak_gflops(PeakKind::fma_avx2), 1.0);
}
// The higher of the fp32 FMA and vdpbf16ps peaks (the bfloat16 target's reference).
inline double bf16_peak_gflops() { return std::max(fp32_peak_gflops(), peak_gflops(PeakKind::dpbf16_avx512)); }

// Adds GFLOP/s (per second of wall time) and %peak (against `peak_per_core` × threads).
inline void report(benchmark::State& state, double flops_per_iteration, int threads, double peak_per_core) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  // %peak is computed from the same rate; Google Benchmark has no derived counters, so the
  // wall time per iteration is taken from the state's own timer in the Rate flavour.
  state.counters["peak_GFLOP/s"] = peak_per_core * threads;
  state.counters["%peak"] = benchmark::Counter(100.0 * flops_per_iteration * 1e-9 / (peak_per_core * threads),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace tessel_bench
