// bench/bench_kernels.cpp — the micro-kernels alone, against the peak measured in the same run.
//
// What the engine's products can reach is bounded by the micro-kernel (gemm/kernel_contract.hpp),
// so each x86 kernel is timed here on synthetic packed panels, the way the driver calls it on
// one MR-row strip of a unit (gemm/driver.hpp), in three settings:
//   l1      one tile over and over: A and B in L1, C the fp32 buffer (the kernel's ceiling)
//   l2      a row of tiles across a B block of nc columns that lives in L2 (the driver's
//           loop over jr with the A panel resident)
//   <type>/direct  as l2, and each tile written from the kernel's registers by run_output to
//           a large output of that type (no fp32 strip), as the driver writes the whole tiles
//           of a last k block; the output rows walked like C's rows, so the stores miss the
//           caches as in a product whose output exceeds them (non-temporal when `stream` is
//           set, as the driver does for outputs larger than the last-level cache); /cached: the
//           same MR rows each time, so the output stays in cache and only the stores'
//           instructions cost
//   block   a non-last k block of a unit with a few rows and several k blocks (dW = Aᵀ·dO,
//           one head's 64 rows: four MR-row panels and a short one): every panel across the
//           L2 block, each tile accumulated into the unit's fp32 block (rows of nc + 16)
// Rows: kernel/<kernel>/kc:<depth>/<setting>[/stream|/cached]; counters GFLOP/s and %peak (the fp32
// FMA peak for the fp32 kernel, vdpbf16ps's for the pair kernel, AMX's for the tile kernel).
// The values are normal (ones), since the time of these instructions does not depend on them.
#include <benchmark/benchmark.h>

#include <tessel/core/allocator.hpp>
#include <tessel/gemm/kernel_amx_bf16.hpp>
#include <tessel/gemm/kernel_avx512.hpp>
#include <tessel/gemm/kernel_avx512_bf16.hpp>
#include <tessel/gemm/store.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "peak.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
namespace {

namespace td = tessel::detail;

// A 64-byte aligned float buffer filled with one 32-bit pattern (1.0f, or a pair of bfloat16
// ones for the pair panels).
struct Buffer {
  explicit Buffer(std::int64_t floats, std::uint32_t pattern) : v(static_cast<std::size_t>(floats) + 16) {
    const auto addr = reinterpret_cast<std::uintptr_t>(v.data());
    p = v.data() + (64 - addr % 64) % 64 / sizeof(float);
    for (std::int64_t i = 0; i < floats; ++i) std::memcpy(p + i, &pattern, sizeof pattern);
  }
  std::vector<float> v;
  float* p = nullptr;
};

enum class Setting { l1, l2, block, direct, direct_cached };

// The output: rows of `cols` values, as many as make `bytes`, written strip after strip.
template <class TC>
struct Output {
  Output(std::int64_t cols, std::int64_t bytes) : cols(cols), rows(bytes / (cols * std::int64_t(sizeof(TC)))) {
    data = static_cast<TC*>(td::allocate_bytes(static_cast<std::size_t>(rows * cols) * sizeof(TC)));
    std::fill_n(data, rows * cols, tessel::from_float<TC>(0.0f));  // pages touched before timing
  }
  ~Output() { td::deallocate_bytes(data); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  std::int64_t cols, rows;
  TC* data = nullptr;
};

template <class Kernel, class TC>
void run_kernel(benchmark::State& state, std::int64_t kc, Setting setting, bool stream, double peak_per_core,
                std::uint32_t pattern) {
  constexpr int MR = Kernel::MR, NR = Kernel::NR;
  // A B block that takes about half of L2 (the driver's nc rule), whole tiles; l1 uses its first.
  const std::int64_t l2 = tessel::cpu_features().l2 > 0 ? tessel::cpu_features().l2 : (1 << 20);
  const std::int64_t nc = setting == Setting::l1 ? NR : std::max<std::int64_t>(NR, l2 / 2 / (kc * 4) / NR * NR);
  // The fp32 strip's rows one vector longer than the block, as the driver pads them (GemmPlan::ldc)
  // so that the tile's rows do not all fall into the same L1 sets.
  const std::int64_t ldc = nc + 16, out_cols = nc;
  // block: one head's rows of dW, in whole panels and one short panel (short_panels kernels).
  constexpr std::int64_t kBlockRows = 64;
  const std::int64_t mc = setting == Setting::block ? kBlockRows : MR, mc_pad = td::round_up(mc, MR);
  Buffer a(mc_pad * kc, pattern), b(nc * kc, pattern), strip(mc_pad * ldc, 0);
  std::unique_ptr<Output<TC>> out;
  if (setting != Setting::l1 && setting != Setting::l2)
    out = std::make_unique<Output<TC>>(out_cols, setting == Setting::direct ? 64ll << 20 : MR * out_cols * std::int64_t(sizeof(TC)));
  std::int64_t r0 = 0;
  for (auto _ : state) {
    if (setting == Setting::direct || setting == Setting::direct_cached) {
      if constexpr (td::writes_output_of<Kernel, TC>()) {
        if (r0 + MR > out->rows) r0 = 0;
        TC* crow[MR];
        for (int r = 0; r < MR; ++r) crow[r] = out->data + (r0 + r) * out_cols;
        for (std::int64_t jr = 0; jr < nc; jr += NR)
          Kernel::template run_output<TC>(kc, a.p, b.p + jr * kc, td::OutputTile<TC, MR>{crow, jr, stream});
        r0 += MR;
      }
    } else if (setting == Setting::block) {
      for (std::int64_t ir = 0; ir < mc; ir += MR) {
        const int rows = static_cast<int>(std::min<std::int64_t>(MR, mc - ir));
        float* const c = strip.p + ir * ldc;
        for (std::int64_t jr = 0; jr < nc; jr += NR) {
          if constexpr (Kernel::features.short_panels) {
            if (rows < MR) {
              Kernel::run_rows(rows, kc, a.p + ir * kc, b.p + jr * kc, c + jr, ldc, true);
              continue;
            }
          }
          Kernel::run(kc, a.p + ir * kc, b.p + jr * kc, c + jr, ldc, true);
        }
      }
    } else {
      for (std::int64_t jr = 0; jr < nc; jr += NR) Kernel::run(kc, a.p, b.p + jr * kc, strip.p + jr, ldc, false);
    }
    benchmark::ClobberMemory();
  }
  if (stream) td::streaming_store_fence();
  tessel_bench::report(state, 2.0 * double(mc) * NR * double(kc) * double(nc / NR), 1, peak_per_core);
}

// The rows of one kernel: l1 and l2 (TC = float: only the kernel's own fp32 buffer is written),
// or the stores to an output of type TC (`type` in the row's name).
template <class Kernel, class TC>
void register_rows(const std::string& name, tessel_bench::PeakKind peak, std::uint32_t pattern, const char* type) {
  if (!td::kernel_runs_here<Kernel>() || !tessel_bench::peak_available(peak)) return;
  for (std::int64_t kc : {64, 128, 256, 352}) {
    const std::string base = "kernel/" + name + "/kc:" + std::to_string(kc) + "/";
    auto add = [&](const std::string& row, Setting s, bool stream) {
      benchmark::RegisterBenchmark(row.c_str(), [=](benchmark::State& st) {
        run_kernel<Kernel, TC>(st, kc, s, stream, tessel_bench::peak_gflops(peak), pattern);
      });
    };
    if (type == nullptr) {
      add(base + "l1", Setting::l1, false);
      add(base + "l2", Setting::l2, false);
      add(base + "block", Setting::block, false);
    } else {
      if constexpr (td::writes_output_of<Kernel, TC>()) {
        add(base + type + "/direct", Setting::direct, false);
        add(base + type + "/direct/stream", Setting::direct, true);
        add(base + type + "/direct/cached", Setting::direct_cached, false);
      }
    }
  }
}

}  // namespace
#endif

int main(int argc, char** argv) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  using tessel_bench::PeakKind;
  constexpr std::uint32_t one = 0x3f800000u, bf16_ones = 0x3f803f80u;
  register_rows<td::Avx512Kernel, float>("avx512_fp32", PeakKind::fma_avx512, one, nullptr);
  register_rows<td::Avx512Kernel, float>("avx512_fp32", PeakKind::fma_avx512, one, "float");
  register_rows<td::Avx512Kernel, tessel::float16>("avx512_fp32", PeakKind::fma_avx512, one, "float16");
  register_rows<td::Avx512Bf16Kernel, float>("avx512_bf16", PeakKind::dpbf16_avx512, bf16_ones, nullptr);
  register_rows<td::Avx512Bf16Kernel, tessel::bfloat16>("avx512_bf16", PeakKind::dpbf16_avx512, bf16_ones, "bfloat16");
  register_rows<td::Avx512Bf16Kernel, float>("avx512_bf16", PeakKind::dpbf16_avx512, bf16_ones, "float");
  register_rows<td::AmxBf16Kernel, float>("amx_bf16", PeakKind::amx_bf16, bf16_ones, nullptr);
#endif
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
