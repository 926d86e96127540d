// bench/bench_peak.cpp — per-core arithmetic peaks: fp32 FMA (AVX-512, AVX2), vdpbf16ps and AMX.
// The measurement itself lives in bench/peak.hpp, which the other benchmarks include to
// report their %peak against the peak measured in the same run.
#include "peak.hpp"

namespace {

void BM_peak(benchmark::State& state, tessel_bench::PeakKind kind) {
  if (!tessel_bench::peak_available(kind)) {
    state.SkipWithError("the CPU lacks this instruction set");
    return;
  }
  constexpr std::int64_t iters = 1 << 18;
  for (auto _ : state) benchmark::DoNotOptimize(tessel_bench::run_loop(kind, iters));
  state.counters["GFLOP/s"] = benchmark::Counter(tessel_bench::flops_per_iter(kind) * iters * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(BM_peak, fp32_fma_avx512, tessel_bench::PeakKind::fma_avx512)->MinTime(0.2);
BENCHMARK_CAPTURE(BM_peak, fp32_fma_avx2, tessel_bench::PeakKind::fma_avx2)->MinTime(0.2);
BENCHMARK_CAPTURE(BM_peak, bf16_dpbf16ps_avx512, tessel_bench::PeakKind::dpbf16_avx512)->MinTime(0.2);
BENCHMARK_CAPTURE(BM_peak, bf16_amx_tdpbf16ps, tessel_bench::PeakKind::amx_bf16)->MinTime(0.2);

}  // namespace

BENCHMARK_MAIN();
