// tessel/gemm/bf16_route.hpp — which of three routes a bfloat16 GEMM takes on the AVX-512 path.
//
//   fma     convert bfloat16 to fp32 while packing, fp32 FMAs (Avx512Kernel);
//   dpbf16  pack bfloat16 pairs along k and multiply them with vdpbf16ps (Avx512Bf16Kernel):
//           one instruction does 32 multiply-adds on 512 bits, an fp32 FMA 16;
//   amx     the same pairs on AMX tiles with tdpbf16ps (AmxBf16Kernel): one instruction does
//           16·16·32 multiply-adds.
// Where the CPU has AMX-BF16 (Intel Sapphire Rapids and later) and the OS grants it
// (simd/os_permission.hpp), amx is many times faster than either other route, so it is the
// automatic choice without a measurement. Otherwise, between fma and dpbf16 the fast choice
// depends on the core: on AMD Zen 4 vdpbf16ps issues as fast as an fp32 FMA (twice the
// multiply-adds), on Intel Emerald Rapids at half the rate (the same multiply-adds, and the
// fp32 route packs more simply). So that choice is a one-time measurement at first use (a
// burst of about a millisecond of each instruction), not the CPUID flag alone. Where the two
// rates are close, two processes may decide differently; a distributed job's ranks adopt
// rank 0's decision (adopt_measured_bf16_route) so that they agree.
// vdpbf16ps and tdpbf16ps both flush denormals, so a call takes either only when its inputs
// pass the guard of gemm/bf16_guard.hpp (the same guard for both).
//
//   (unset), TESSEL_BF16_ROUTE=auto   amx where available, else measure once and use
//                                     vdpbf16ps where it is clearly faster; either only for
//                                     calls whose inputs pass the guard
//   TESSEL_BF16_ROUTE=amx             AMX whenever available, unguarded (tiny values may be
//                                     flushed)
//   TESSEL_BF16_ROUTE=dpbf16          vdpbf16ps whenever the CPU has AVX512_BF16, unguarded
//   TESSEL_BF16_ROUTE=fma             always the fma route
// A forced route this CPU (or OS) cannot run is ignored: the automatic choice applies, as
// TESSEL_ISA falls back to the best path available. (set_bf16_route() overrides the
// environment; bf16_route() says which route calls take, bf16_route_for(p) which p takes.)
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../simd/isa_registry.hpp"
#include "../simd/os_permission.hpp"
#include "../simd/target.hpp"
#include "../simd/throughput.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

enum class Bf16Route : int { automatic = -1, fma = 0, dpbf16 = 1, amx = 2 };

// The route's name, as TESSEL_BF16_ROUTE spells it.
constexpr const char* bf16_route_name(Bf16Route r) {
  switch (r) {
    case Bf16Route::fma: return "fma";
    case Bf16Route::dpbf16: return "dpbf16";
    case Bf16Route::amx: return "amx";
    default: return "auto";
  }
}

// Whether this CPU (and build) can run the dpbf16 route at all.
inline bool dpbf16_available() {
  const CpuFeatures& f = cpu_features();
  return isa_runs_on(Isa::avx512, f) && f.has(kFeatureAvx512Bf16);
}

// Whether this CPU, OS and build can run the amx route (the first call asks Linux for the
// tile state: simd/os_permission.hpp).
inline bool amx_available() {
#if defined(TESSEL_HAVE_X86_TARGETS)
  return isa_runs_on(Isa::avx512, cpu_features()) && features_usable(kFeatureAmxBf16);
#else
  return false;
#endif
}

// Whether route r can run here (fma always can).
inline bool bf16_route_available(Bf16Route r) {
  switch (r) {
    case Bf16Route::fma: return true;
    case Bf16Route::dpbf16: return dpbf16_available();
    case Bf16Route::amx: return amx_available();
    default: return false;
  }
}

// Multiply-adds per nanosecond of each instruction.
struct RouteRates {
  double fma = 0, dpbf16 = 0;
};

// The route the rates call for: vdpbf16ps only when it does clearly (> 1.2×) more
// multiply-adds per unit time than fp32 FMAs (packing pairs costs a little more).
constexpr Bf16Route route_for_rates(const RouteRates& r) {
  return r.dpbf16 > 1.2 * r.fma ? Bf16Route::dpbf16 : Bf16Route::fma;
}

// The rates of this core: the best of a few short bursts of each instruction (the best,
// because a burst can only be slowed by other work on the core, never sped up). Needs
// dpbf16_available().
inline RouteRates measure_route_rates() {
  RouteRates r;
#if defined(TESSEL_HAVE_X86_TARGETS)
  using clock = std::chrono::steady_clock;
  constexpr int kChains = 16;
  constexpr std::int64_t iters = 4096;  // 65536 instructions: tens of microseconds a burst
  volatile float sink = 0;
  auto best = [&](auto burst, double macs_per_instr) {
    double ns_min = 1e300;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = clock::now();
      sink = sink + burst(iters, 0.5f, 0.125f);
      const double ns = std::chrono::duration<double, std::nano>(clock::now() - t0).count();
      ns_min = std::min(ns_min, ns);
    }
    return double(kChains) * double(iters) * macs_per_instr / std::max(ns_min, 1.0);
  };
  // Alternate twice, so that a frequency change (AVX-512 licence, boost) during the first
  // bursts does not favour the instruction measured second.
  for (int round = 0; round < 2; ++round) {
    r.fma = std::max(r.fma, best(fma_chains_avx512<kChains>, 16.0));
    r.dpbf16 = std::max(r.dpbf16, best(dpbf16_chains<kChains>, 32.0));
  }
#endif
  return r;
}

// The measured route of this process: -1 until the first measurement (or adoption).
inline std::atomic<int>& measured_route_slot() {
  static std::atomic<int> v{-1};
  return v;
}

// The measured route, decided once per process (fma without AVX512_BF16). Two threads that
// both find it unmeasured may both measure; the first result stored is the one every call
// sees from then on.
inline Bf16Route measured_bf16_route() {
  std::atomic<int>& slot = measured_route_slot();
  int v = slot.load(std::memory_order_acquire);
  if (v >= 0) return static_cast<Bf16Route>(v);
  const Bf16Route r = dpbf16_available() ? route_for_rates(measure_route_rates()) : Bf16Route::fma;
  int unmeasured = -1;
  slot.compare_exchange_strong(unmeasured, static_cast<int>(r), std::memory_order_acq_rel);
  return static_cast<Bf16Route>(slot.load(std::memory_order_acquire));
}

// Makes `r` this process's measured route instead of its own measurement (fma where r is not
// fma or dpbf16, or cannot run here), so that processes that must agree on their bits, such
// as the ranks of one distributed job (distributed/communicator.hpp), share one measurement:
// two processes on the same CPU can measure differently when the rates are close or the
// cores are busy. Returns the route adopted.
inline Bf16Route adopt_measured_bf16_route(Bf16Route r) {
  const Bf16Route adopted = r == Bf16Route::dpbf16 && dpbf16_available() ? Bf16Route::dpbf16 : Bf16Route::fma;
  measured_route_slot().store(static_cast<int>(adopted), std::memory_order_release);
  return adopted;
}

inline std::atomic<int>& bf16_route_setting() {
  static std::atomic<int> v{static_cast<int>(Bf16Route::automatic)};
  return v;
}

// The route setting: set_bf16_route(), else TESSEL_BF16_ROUTE: fma, dpbf16 or amx when
// forced, automatic (guarded) when unset, "auto" or anything else.
inline Bf16Route bf16_route_mode() {
  const int v = bf16_route_setting().load(std::memory_order_relaxed);
  if (v >= 0) return static_cast<Bf16Route>(v);
  static const Bf16Route from_env = [] {
    const char* env = std::getenv("TESSEL_BF16_ROUTE");
    const std::string_view s = env ? env : "";
    if (s == "amx") return Bf16Route::amx;
    if (s == "dpbf16") return Bf16Route::dpbf16;
    if (s == "fma") return Bf16Route::fma;
    return Bf16Route::automatic;  // unset, "auto" or anything else: the automatic choice, guarded
  }();
  return from_env;
}

// Whether the route calls take is a forced one (set_bf16_route or TESSEL_BF16_ROUTE naming a
// route that runs here): then dpbf16 and amx run unguarded.
inline bool bf16_route_forced() {
  const Bf16Route mode = bf16_route_mode();
  return mode != Bf16Route::automatic && bf16_route_available(mode);
}

// The automatic route: amx where available, else the measured choice of fma and dpbf16.
inline Bf16Route automatic_bf16_route() {
  if (amx_available()) return Bf16Route::amx;
  return dpbf16_available() ? measured_bf16_route() : Bf16Route::fma;
}

// The bfloat16 route on the AVX-512 path for calls whose inputs pass the guard: the forced
// route where it runs here, else the automatic one. Never a route the CPU and OS cannot run.
// A given call may still take the fma route: see bf16_route_for().
inline Bf16Route bf16_route() {
  const Bf16Route mode = bf16_route_mode();
  return mode != Bf16Route::automatic && bf16_route_available(mode) ? mode : automatic_bf16_route();
}

// Forces a route (automatic: back to what TESSEL_BF16_ROUTE says); returns bf16_route().
inline Bf16Route set_bf16_route(Bf16Route r) {
  bf16_route_setting().store(static_cast<int>(r), std::memory_order_relaxed);
  return bf16_route();
}

}  // namespace detail
TESSEL_NAMESPACE_END
