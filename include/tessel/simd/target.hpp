// tessel/simd/target.hpp — per-function ISA attributes.
//
// Kernels are compiled for their ISA through function attributes, never through -m flags,
// so a consumer built with the compiler's defaults still gets the AVX-512 path (chosen at
// run time). Everything compiled with these attributes lives in an ISA-named namespace
// (isa_avx2, isa_avx512, ...), inside the ABI namespace that names the translation unit's own
// flags (core/config.hpp), so two units built with different flags never share a symbol
// whose code differs.
#pragma once

#include "../core/config.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define TESSEL_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TESSEL_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define TESSEL_TARGET_AVX512_BF16 \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
// The AMX tile kernel: AVX-512 for its packing and tails, AMX-TILE and AMX-BF16 for its tiles.
#define TESSEL_TARGET_AMX \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))
#define TESSEL_ALWAYS_INLINE inline __attribute__((always_inline))
#define TESSEL_HAVE_X86_TARGETS 1
// A function no interprocedural optimisation sees through (GCC's noipa; Clang has no such
// attribute and does not propagate across a noinline call's result).
#if defined(__clang__)
#define TESSEL_NOIPA __attribute__((noinline))
#else
#define TESSEL_NOIPA __attribute__((noipa))
#endif
#else
#define TESSEL_TARGET_AVX2
#define TESSEL_TARGET_AVX512
#define TESSEL_TARGET_AVX512_BF16
#define TESSEL_TARGET_AMX
#define TESSEL_ALWAYS_INLINE inline
#define TESSEL_NOIPA
#endif

#if !(defined(__x86_64__) || defined(_M_X64))
#undef TESSEL_HAVE_X86_TARGETS
#endif

// AArch64's Advanced SIMD (NEON) is part of its base ABI: the NEON kernels need no attribute,
// only a compiler that provides <arm_neon.h> for the target (every AArch64 GCC and Clang).
#if defined(__aarch64__) && defined(__ARM_NEON)
#define TESSEL_HAVE_NEON_TARGETS 1
#endif

// GCC 12's AVX-512 intrinsics headers start some operations from _mm512_undefined_*(), which
// -W(maybe-)uninitialized then reports at every inlining site (GCC bug 105593), breaking
// -Werror builds of users' code. The values are fully defined; the warning is silenced for
// tessel's SIMD code only, between these two markers.
#if defined(__GNUC__) && !defined(__clang__)
#define TESSEL_SIMD_CODE_BEGIN                                       \
  _Pragma("GCC diagnostic push")                                     \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")        \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define TESSEL_SIMD_CODE_END _Pragma("GCC diagnostic pop")
#else
#define TESSEL_SIMD_CODE_BEGIN
#define TESSEL_SIMD_CODE_END
#endif
