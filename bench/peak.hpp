// bench/peak.hpp — the machine's arithmetic peak per core, measured in the same run.
//
// The peak loops (independent FMA chains, each from its own start value) are the library's,
// simd/throughput.hpp, which the bfloat16 route measurement uses as well; this header times
// them precisely (thread CPU time, best of several >= 10 ms runs) and reports %peak.
//
//   tessel_bench::peak_gflops(PeakKind)   per-core GFLOP/s, measured once and cached
//   tessel_bench::fp32_peak_gflops()      the fp32 FMA peak of the path tessel uses
//   tessel_bench::bf16_peak_gflops()      the highest bfloat16 peak: fp32 FMA, vdpbf16ps or
//                                         AMX's tdpbf16ps, whichever this CPU runs fastest
//   tessel_bench::report(state, flops, threads, peak)
//                                         sets GFLOP/s and %peak counters on a benchmark
#pragma once

#include <benchmark/benchmark.h>

#include <tessel/gemm/kernel_amx_bf16.hpp>
#include <tessel/simd/isa_registry.hpp>
#include <tessel/simd/os_permission.hpp>
#include <tessel/simd/target.hpp>
#include <tessel/simd/throughput.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>


namespace tessel_bench {

enum class PeakKind { fma_avx512, fma_avx2, dpbf16_avx512, amx_bf16 };

// The loops are the library's (simd/throughput.hpp), with 24 chains: 24 distinct zmm
// accumulators, 24 vfmadd231ps per iteration, no spills (checked with objdump on the inner
// loop; likewise 24 vdpbf16ps, and 24 ymm chains for AVX2).
inline constexpr int kChains = 24;

inline bool peak_available(PeakKind k) {
  const auto& f = tessel::cpu_features();
  switch (k) {
    case PeakKind::fma_avx512: return tessel::detail::isa_runs_on(tessel::Isa::avx512, f);
    case PeakKind::fma_avx2: return tessel::detail::isa_runs_on(tessel::Isa::avx2, f);
    case PeakKind::dpbf16_avx512:
      return tessel::detail::isa_runs_on(tessel::Isa::avx512, f) && f.has(tessel::kFeatureAvx512Bf16);
    case PeakKind::amx_bf16:
      return tessel::detail::isa_runs_on(tessel::Isa::avx512, f) &&
             tessel::detail::features_usable(tessel::kFeatureAmxBf16);
  }
  return false;
}

inline double flops_per_iter(PeakKind k) {
  switch (k) {
    case PeakKind::fma_avx512: return tessel::detail::fma_avx512_flops(kChains);
    case PeakKind::fma_avx2: return tessel::detail::fma_avx2_flops(kChains);
    case PeakKind::dpbf16_avx512: return tessel::detail::dpbf16_flops(kChains);
    case PeakKind::amx_bf16: return 4.0 * 2 * 16 * 16 * 32;  // 4 tdpbf16ps of 16x16 outputs, 32 deep
  }
  return 0;
}
#if defined(TESSEL_HAVE_X86_TARGETS)
// AMX: the micro-kernel's own 2x2 accumulator tiles, four tdpbf16ps per iteration on source
// tiles that stay loaded (zeros: tdpbf16ps takes the same time whatever the values), so only
// the tile unit's multiply rate is timed, not loads.
TESSEL_TARGET_AMX inline float amx_chains(std::int64_t iters) {
  namespace amx = tessel::detail::isa_amx;
  amx::load_config(amx::kTiles16x64);
  amx::zero<0>(), amx::zero<1>(), amx::zero<2>(), amx::zero<3>();
  amx::zero<4>(), amx::zero<5>(), amx::zero<6>(), amx::zero<7>();
  for (std::int64_t i = 0; i < iters; ++i) {
    amx::dpbf16<0, 4, 6>();
    amx::dpbf16<1, 4, 7>();
    amx::dpbf16<2, 5, 6>();
    amx::dpbf16<3, 5, 7>();
  }
  alignas(64) float out[16 * 16];
  amx::store<0>(out, 64);
  amx::release_tiles();
  return out[0];
}
#endif

inline float run_loop(PeakKind k, std::int64_t iters) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  // Operands chosen so the accumulators stay finite and normal: acc·0.5 + 0.25 -> 0.5.
  switch (k) {
    case PeakKind::fma_avx512: return tessel::detail::fma_chains_avx512<kChains>(iters, 0.5f, 0.25f);
    case PeakKind::fma_avx2: return tessel::detail::fma_chains_avx2<kChains>(iters, 0.5f, 0.25f);
    case PeakKind::dpbf16_avx512: return tessel::detail::dpbf16_chains<kChains>(iters, 0.5f, 0.125f);
    case PeakKind::amx_bf16: return amx_chains(iters);
  }
#endif
  (void)k, (void)iters;
  return 0;
}

// This thread's CPU time in seconds: a shared machine deschedules us, and wall time would
// then understate the peak by as much as a third under load.
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
  static double cache[4] = {-1, -1, -1, -1};
  double& c = cache[static_cast<int>(k)];
  if (c < 0) c = measure_gflops(k);
  return c;
}

// The fp32 FMA peak of the widest path this CPU has (what tessel's fp32 kernels aim at).
inline double fp32_peak_gflops() {
  const double p512 = peak_gflops(PeakKind::fma_avx512);
  return p512 > 0 ? p512 : std::max(peak_gflops(PeakKind::fma_avx2), 1.0);
}
// The highest of the fp32 FMA, vdpbf16ps and AMX peaks (the bfloat16 target's reference:
// the fastest way this CPU has to multiply bfloat16, whether tessel's route uses it or not).
inline double bf16_peak_gflops() {
  return std::max({fp32_peak_gflops(), peak_gflops(PeakKind::dpbf16_avx512), peak_gflops(PeakKind::amx_bf16)});
}

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
