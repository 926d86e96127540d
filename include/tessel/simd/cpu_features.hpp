// tessel/simd/cpu_features.hpp — what the CPU can do, detected once at run time.
//
// x86: cpuid says which instructions exist; xgetbv says whether the OS saves the wide
// registers (an AVX-512 CPU under an OS that does not enable ZMM state must not use them).
// AMX is one step more: the OS must enable the tile state in XCR0 (what amx_bf16 says), and
// Linux also wants each process to ask for it before its first tile instruction; that
// request is simd/os_permission.hpp's, made only when a kernel that needs it is chosen.
// AArch64 Linux: the kernel's hardware capabilities (getauxval(AT_HWCAP)), which say what
// both the CPU and the kernel support. The ISA tessel runs is the best one allowed, unless
// TESSEL_ISA or set_isa() restricts it.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define TESSEL_X86 1
#endif
#if defined(__linux__)
#include <unistd.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#define TESSEL_AARCH64_LINUX 1
#endif

TESSEL_NAMESPACE_BEGIN

// Features a kernel path may need (simd/isa_registry.hpp lists which), as bits.
enum CpuFeature : std::uint32_t {
  kFeatureAvx2 = 1u << 0,
  kFeatureFma = 1u << 1,
  kFeatureF16c = 1u << 2,
  kFeatureAvx512f = 1u << 3,
  kFeatureAvx512bw = 1u << 4,
  kFeatureAvx512vl = 1u << 5,
  kFeatureAvx512dq = 1u << 6,
  kFeatureAvx512Bf16 = 1u << 7,
  kFeatureAvx512Fp16 = 1u << 8,
  kFeatureNeon = 1u << 9,     // AArch64 Advanced SIMD (ASIMD) with fp32 and fp16<->fp32 conversions
  kFeatureAmxBf16 = 1u << 10,  // AMX-TILE and AMX-BF16, tile state enabled by the OS (XCR0 bits 17, 18)
};
// What the x86 paths need (the AVX-512 path's kernels also use AVX2 code).
inline constexpr std::uint32_t kAvx2PathFeatures = kFeatureAvx2 | kFeatureFma | kFeatureF16c;
inline constexpr std::uint32_t kAvx512PathFeatures =
    kAvx2PathFeatures | kFeatureAvx512f | kFeatureAvx512bw | kFeatureAvx512vl | kFeatureAvx512dq;
inline constexpr std::uint32_t kNeonPathFeatures = kFeatureNeon;

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false, avx512_fp16 = false;
  bool neon = false;
  // AMX-TILE and AMX-BF16 with the tile state enabled in XCR0. On Linux a process must still
  // be granted the tile data (simd/os_permission.hpp: features_usable) before using them.
  bool amx_bf16 = false;
  // Cache sizes in bytes as the CPU reports them (0 when unknown): per core L1d and L2,
  // shared L3.
  std::int64_t l1d = 0, l2 = 0, l3 = 0;

  std::uint32_t bits() const {
    std::uint32_t b = 0;
    const bool flags[] = {avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, avx512_bf16, avx512_fp16, neon,
                          amx_bf16};
    for (unsigned i = 0; i < sizeof(flags); ++i) b |= flags[i] ? 1u << i : 0u;
    return b;
  }
  // Whether every feature in `needed` (CpuFeature bits) is present.
  bool has(std::uint32_t needed) const { return (bits() & needed) == needed; }
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
      // AMX-BF16 (EDX bit 22) and AMX-TILE (bit 24), with XTILECFG and XTILEDATA (XCR0 bits
      // 17 and 18) enabled by the OS. (Only with ZMM state: the tile kernel packs with AVX-512.)
      const bool tile_state = (xcr0 & (3ull << 17)) == (3ull << 17);
      f.amx_bf16 = tile_state && ((d >> 22) & 1) && ((d >> 24) & 1);
      const unsigned subleaves = a;
      if (subleaves >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512_bf16 = (a >> 5) & 1;
      }
    }
  }
#endif
#if defined(TESSEL_AARCH64_LINUX)
  // HWCAP_ASIMD (bit 1 of AT_HWCAP; spelled out, as older headers lack the name): Advanced
  // SIMD, whose base set has fp32 FMLA and the fp16 <-> fp32 conversions. It is part of the
  // AArch64 base ABI, so this is true on every Linux system tessel's NEON code can run on.
  f.neon = (::getauxval(AT_HWCAP) & (1ul << 1)) != 0;
#elif defined(__aarch64__) && defined(__ARM_NEON)
  f.neon = true;  // the compiler's target has it, and so every CPU this code runs on
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

}  // namespace detail

// The CPU's features, detected on first use.
inline const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detail::detect_cpu_features();
  return f;
}

TESSEL_NAMESPACE_END
