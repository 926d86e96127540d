// tessel/simd/cpu_features.hpp — what the CPU can do, detected once at run time.
//
// cpuid says which instructions exist; xgetbv says whether the OS saves the wide registers
// (an AVX-512 CPU under an OS that does not enable ZMM state must not use them). The ISA
// tessel runs is the best one both allow, unless TESSEL_ISA or set_isa() restricts it.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <atomic>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TESSEL_X86 1
#endif
#if defined(__linux__)
#include <unistd.h>
#endif

TESSEL_NAMESPACE_BEGIN

// The kernel families, in increasing order of capability.
enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

inline constexpr std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "scalar";
  }
}

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false, avx512_fp16 = false;
  // Cache sizes in bytes as the CPU reports them (0 when unknown): per core L1d and L2,
  // shared L3.
  std::int64_t l1d = 0, l2 = 0, l3 = 0;

  bool has_avx2_path() const { return avx2 && fma && f16c; }
  bool has_avx512_path() const { return has_avx2_path() && avx512f && avx512bw && avx512vl && avx512dq; }
  Isa best_isa() const { return has_avx512_path() ? Isa::avx512 : has_avx2_path() ? Isa::avx2 : Isa::scalar; }
};

namespace detail {

#if defined(TESSEL_X86)
inline std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}
#endif

inline CpuFeatures detect_cpu_features() {
  CpuFeatures f;
#if defined(TESSEL_X86)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  __cpuid_count(1, 0, a, b, c, d);
  const bool osxsave = (c >> 27) & 1;
  const bool avx = (c >> 28) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool ymm_state = (xcr0 & 0x6) == 0x6;     // SSE and AVX registers saved
  const bool zmm_state = (xcr0 & 0xe6) == 0xe6;   // plus opmask and both ZMM halves
  if (!(avx && ymm_state)) {
    f.fma = f.f16c = false;
  } else if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = (b >> 5) & 1;
    if (zmm_state) {
      f.avx512f = (b >> 16) & 1;
      f.avx512dq = (b >> 17) & 1;
      f.avx512bw = (b >> 30) & 1;
      f.avx512vl = (b >> 31) & 1;
      f.avx512_fp16 = (d >> 23) & 1;
      const unsigned subleaves = a;
      if (subleaves >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512_bf16 = (a >> 5) & 1;
      }
    }
  }
#endif
#if defined(__linux__) && defined(_SC_LEVEL1_DCACHE_SIZE)
  f.l1d = ::sysconf(_SC_LEVEL1_DCACHE_SIZE);
  f.l2 = ::sysconf(_SC_LEVEL2_CACHE_SIZE);
  f.l3 = ::sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (f.l1d < 0) f.l1d = 0;
  if (f.l2 < 0) f.l2 = 0;
  if (f.l3 < 0) f.l3 = 0;
#endif
  return f;
}

// The ISA requested through TESSEL_ISA, or the best one when unset or unknown.
inline Isa isa_from_environment(const CpuFeatures& f) {
  const char* env = std::getenv("TESSEL_ISA");
  if (!env) return f.best_isa();
  const std::string_view want(env);
  Isa isa = f.best_isa();
  if (want == "scalar") isa = Isa::scalar;
  else if (want == "avx2") isa = Isa::avx2;
  else if (want == "avx512") isa = Isa::avx512;
  // Asking for more than the CPU has falls back to the best it has.
  return static_cast<int>(isa) > static_cast<int>(f.best_isa()) ? f.best_isa() : isa;
}

// Shared by every ABI namespace of the program (core/config.hpp); -1: not decided yet.
inline std::atomic<int>& isa_setting() { return shared::isa_setting; }

}  // namespace detail

// The CPU's features, detected on first use.
inline const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detail::detect_cpu_features();
  return f;
}

// The kernel family in use.
inline Isa current_isa() {
  int v = detail::isa_setting().load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(detail::isa_from_environment(cpu_features()));
    int expected = -1;
    detail::isa_setting().compare_exchange_strong(expected, v);
    v = detail::isa_setting().load();
  }
  return static_cast<Isa>(v);
}

// "avx512", "avx2" or "scalar": the kernels in use.
inline std::string_view active_isa() { return isa_name(current_isa()); }

// Every kernel family this CPU can run, scalar first.
inline std::vector<Isa> available_isas() {
  std::vector<Isa> v{Isa::scalar};
  if (cpu_features().has_avx2_path()) v.push_back(Isa::avx2);
  if (cpu_features().has_avx512_path()) v.push_back(Isa::avx512);
  return v;
}

// Restricts the kernels to `isa` (or the best the CPU has, if it lacks `isa`); returns the
// ISA now in use. Overrides TESSEL_ISA.
inline Isa set_isa(Isa isa) {
  const Isa best = cpu_features().best_isa();
  if (static_cast<int>(isa) > static_cast<int>(best)) isa = best;
  detail::isa_setting().store(static_cast<int>(isa));
  return isa;
}

TESSEL_NAMESPACE_END
