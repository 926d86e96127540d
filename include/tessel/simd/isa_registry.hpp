// tessel/simd/isa_registry.hpp — the kernel paths tessel knows, one table per architecture,
// and which one runs.
//
// Each architecture has one table of paths, ordered "higher is better within a base
// architecture" (ruy's path.h, BLIS's config_registry): a path needs the CPU features its
// entry lists, and the best path whose features the CPU (and the OS) provides is the
// default. Dispatch (gemm/gemm.hpp, simd/convert.hpp), tests and benchmarks all read this
// table, so adding a path — AArch64 NEON, a portable vector-extension kernel — is a new
// entry here, its kernels, and one line in gemm/paths.hpp.
//
//   TESSEL_ISA=scalar|avx2|avx512   restricts the kernels to that path (SPEC §7; `neon` on
//                                   AArch64, where `scalar` is the portable path too); a path the
//                                   CPU lacks, or this build left out, falls back to the best
//                                   available one, and active_isa() says so.
//   set_isa(Isa)                    the same from code (overrides TESSEL_ISA).
//
// A build whose compiler flags already guarantee a path (-march=native on an AVX-512 machine)
// compiles only the paths from that one up: the lower ones could never be chosen on a CPU
// that runs this code (DESIGN: "a build with -march=native may skip the dispatch").
// TESSEL_ALL_PATHS keeps every path in such a build (for tests of the lower paths).
#pragma once

#include "../core/config.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "cpu_features.hpp"

TESSEL_NAMESPACE_BEGIN

// Every kernel path of every architecture (a value, not a rank: compare paths through the
// table, never as numbers).
// `scalar` is the portable path (vector extensions, gemm/kernel_portable.hpp) of every
// architecture; its name is SPEC §7's.
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2, neon = 3 };

namespace detail {

struct IsaEntry {
  Isa isa;
  std::string_view name;      // TESSEL_ISA's spelling and active_isa()'s answer
  std::uint32_t needs = 0;    // CpuFeature bits the CPU and OS must provide
  bool compiled = true;       // whether this build has the path's code
};

// The paths at or above the compiler's own baseline (see the header comment).
#if defined(TESSEL_ALL_PATHS)
#define TESSEL_BASELINE_AVX2 0
#define TESSEL_BASELINE_AVX512 0
#else
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define TESSEL_BASELINE_AVX2 1
#else
#define TESSEL_BASELINE_AVX2 0
#endif
#if TESSEL_BASELINE_AVX2 && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__)
#define TESSEL_BASELINE_AVX512 1
#else
#define TESSEL_BASELINE_AVX512 0
#endif
#endif

// The table of this architecture, worst to best.
#if defined(__x86_64__) || defined(_M_X64)
inline constexpr IsaEntry kIsaTable[] = {
    {Isa::scalar, "scalar", 0, !TESSEL_BASELINE_AVX2},
    {Isa::avx2, "avx2", kAvx2PathFeatures, !TESSEL_BASELINE_AVX512},
    {Isa::avx512, "avx512", kAvx512PathFeatures, true},
};
#elif defined(__aarch64__) && defined(__ARM_NEON)
// AArch64: NEON is in the base ABI, so every build has it; the portable path is kept
// compiled beside it all the same (TESSEL_ISA=scalar), as the one path shared with every
// other architecture, which this is the one place to run.
inline constexpr IsaEntry kIsaTable[] = {
    {Isa::scalar, "scalar", 0, true},
    {Isa::neon, "neon", kNeonPathFeatures, true},
};
#else
// Every other architecture: the portable path.
inline constexpr IsaEntry kIsaTable[] = {
    {Isa::scalar, "scalar", 0, true},
};
#endif

// Whether this build compiled the code of `isa` (constant: dispatch uses it with if constexpr).
constexpr bool isa_compiled(Isa isa) {
  for (const IsaEntry& e : kIsaTable)
    if (e.isa == isa) return e.compiled;
  return false;
}

constexpr const IsaEntry* isa_entry(Isa isa) {
  for (const IsaEntry& e : kIsaTable)
    if (e.isa == isa) return &e;
  return nullptr;
}

// Whether `isa` can run here: compiled, and its features present.
inline bool isa_runs_on(Isa isa, const CpuFeatures& f) {
  const IsaEntry* e = isa_entry(isa);
  return e && e->compiled && f.has(e->needs);
}

// The best path that runs on f (the last such table entry).
inline Isa best_isa(const CpuFeatures& f) {
  Isa best = kIsaTable[0].isa;
  bool found = false;
  for (const IsaEntry& e : kIsaTable)
    if (e.compiled && f.has(e.needs)) best = e.isa, found = true;
  if (!found)  // a build whose baseline the CPU lacks cannot run at all; name its lowest path
    for (const IsaEntry& e : kIsaTable)
      if (e.compiled) return e.isa;
  return best;
}

// `want` if it runs on f, else the best path that does.
inline Isa isa_or_best(Isa want, const CpuFeatures& f) { return isa_runs_on(want, f) ? want : best_isa(f); }

// The path TESSEL_ISA names (the best one when unset, unknown or unavailable).
inline Isa isa_from_environment(const CpuFeatures& f) {
  const char* env = std::getenv("TESSEL_ISA");
  if (env)
    for (const IsaEntry& e : kIsaTable)
      if (e.name == std::string_view(env)) return isa_or_best(e.isa, f);
  return best_isa(f);
}

// Calls f.template operator()<I>() for the compiled path I == isa: a run-time path to
// compile-time code, for every compiled entry of the table, without naming any path.
template <std::size_t N = 0, class F>
void visit_compiled_isa(Isa isa, F& f) {
  constexpr std::size_t kEntries = sizeof(kIsaTable) / sizeof(kIsaTable[0]);
  if constexpr (N < kEntries) {
    if constexpr (kIsaTable[N].compiled) {
      if (kIsaTable[N].isa == isa) return f.template operator()<kIsaTable[N].isa>();
    }
    visit_compiled_isa<N + 1>(isa, f);
  }
}
// The same for any isa: one this build left out (or the CPU lacks) becomes the best path that
// runs here.
template <class F>
void visit_isa(Isa isa, F&& f) {
  visit_compiled_isa(isa_compiled(isa) ? isa : best_isa(cpu_features()), f);
}

// Shared by every ABI namespace of the program (core/config.hpp); -1: not decided yet.
inline std::atomic<int>& isa_setting() { return shared::isa_setting; }

}  // namespace detail

// "avx512", "avx2", "neon", "scalar": the table's name of a path.
constexpr std::string_view isa_name(Isa isa) {
  const detail::IsaEntry* e = detail::isa_entry(isa);
  return e ? e->name : std::string_view("unknown");
}

// The kernel path in use.
inline Isa current_isa() {
  int v = detail::isa_setting().load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(detail::isa_from_environment(cpu_features()));
    int expected = -1;
    detail::isa_setting().compare_exchange_strong(expected, v);
    v = detail::isa_setting().load();
  }
  // (Another unit of the program, built with other flags, may have chosen a path this one
  // left out: then this one's best.)
  return detail::isa_or_best(static_cast<Isa>(v), cpu_features());
}

// "avx512", "avx2" or "scalar" ("neon" on AArch64): the kernels in use.
inline std::string_view active_isa() { return isa_name(current_isa()); }

// Every path that runs here, worst to best (what tests and benchmarks loop over).
inline std::vector<Isa> available_isas() {
  std::vector<Isa> v;
  for (const detail::IsaEntry& e : detail::kIsaTable)
    if (detail::isa_runs_on(e.isa, cpu_features())) v.push_back(e.isa);
  return v;
}

// Restricts the kernels to `isa` (or the best path available, if it cannot run here);
// returns the path now in use. Overrides TESSEL_ISA.
inline Isa set_isa(Isa isa) {
  isa = detail::isa_or_best(isa, cpu_features());
  detail::isa_setting().store(static_cast<int>(isa));
  return isa;
}

TESSEL_NAMESPACE_END
