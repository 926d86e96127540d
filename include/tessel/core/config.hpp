// tessel/core/config.hpp — included first by every tessel header: the language and target
// checks, and the ABI namespace that every definition of the library lives in.
//
// Why an ABI namespace. tessel is header-only, so every function it defines is inline (or a
// template) and is compiled again in each translation unit that includes it, with that unit's
// flags. The linker keeps one copy of each such symbol for the whole program. If a unit built
// with -mavx512f and one built with the compiler's defaults both emitted
// `tessel::detail::pack_a<...>`, the program could run the AVX-512 copy from default-flags
// code, on a CPU without AVX-512 (SIGILL). So everything lives in one inline namespace whose
// name spells the flags that change generated code (nlohmann_json's abi_macros.hpp does the
// same with its configuration):
//
//   namespace tessel { inline namespace abi_v0_avx2_fma_f16c { ... } }
//
// Users still write tessel::Tensor; differently configured units simply get distinct
// symbols. Their types are distinct too, so a tessel::Tensor cannot be passed between units
// built with different instruction-set flags, bounds-checking mode or OpenMP setting (a link
// error, never a wrong program). Process-wide settings (set_num_threads, set_isa) are plain
// data shared by all of them (tessel::shared, below).
//
// tests/test_abi checks this with nm: every weak tessel symbol of two units built with
// different flags lies in an ABI namespace, and the two sets are disjoint.
#pragma once

// ---- language and target ---------------------------------------------------------------
#if defined(_MSVC_LANG)
#define TESSEL_CPLUSPLUS _MSVC_LANG
#else
#define TESSEL_CPLUSPLUS __cplusplus
#endif
#if TESSEL_CPLUSPLUS < 202002L
#error "tessel needs C++20 or newer: compile with -std=c++20 (CMake: the Tessel::tessel target sets it)"
#endif

// tessel indexes memory with 64-bit sizes and relies on size_t holding any byte count it
// checks; on a 32-bit target that promise cannot be kept, so it is refused outright.
#if (defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ < 8) || (defined(_WIN32) && !defined(_WIN64))
#error "tessel needs a 64-bit target (x86-64, AArch64, ...): 32-bit targets are not supported"
#endif

// ---- bounds checks -----------------------------------------------------------------------
// Element access checks its indices unless NDEBUG is defined (or TESSEL_NO_DEBUG_BOUNDS).
#if !defined(NDEBUG) && !defined(TESSEL_NO_DEBUG_BOUNDS)
#define TESSEL_DEBUG_BOUNDS 1
#endif

// ---- the ABI namespace -------------------------------------------------------------------
// One token per compiler flag that can change the instructions of inline code, empty when
// the flag is off. Pasted together they name the namespace.
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__SSE3__)
#define TESSEL_ABI_T01 _sse3
#endif
#if defined(__SSSE3__)
#define TESSEL_ABI_T02 _ssse3
#endif
#if defined(__SSE4_1__)
#define TESSEL_ABI_T03 _sse41
#endif
#if defined(__SSE4_2__)
#define TESSEL_ABI_T04 _sse42
#endif
#if defined(__POPCNT__)
#define TESSEL_ABI_T05 _popcnt
#endif
#if defined(__AVX__)
#define TESSEL_ABI_T06 _avx
#endif
#if defined(__AVX2__)
#define TESSEL_ABI_T07 _avx2
#endif
#if defined(__FMA__)
#define TESSEL_ABI_T08 _fma
#endif
#if defined(__F16C__)
#define TESSEL_ABI_T09 _f16c
#endif
#if defined(__BMI__) || defined(__BMI2__) || defined(__LZCNT__)
#define TESSEL_ABI_T10 _bmi
#endif
#if defined(__AVX512F__)
#define TESSEL_ABI_T11 _avx512f
#endif
#if defined(__AVX512BW__)
#define TESSEL_ABI_T12 _bw
#endif
#if defined(__AVX512DQ__)
#define TESSEL_ABI_T13 _dq
#endif
#if defined(__AVX512VL__)
#define TESSEL_ABI_T14 _vl
#endif
#if defined(__AVX512CD__) || defined(__AVX512VNNI__) || defined(__AVX512IFMA__) || defined(__AVX512VBMI__) || \
    defined(__AVX512VBMI2__) || defined(__AVX512BITALG__) || defined(__AVX512VPOPCNTDQ__)
#define TESSEL_ABI_T15 _avx512x
#endif
#if defined(__AVX512BF16__)
#define TESSEL_ABI_T16 _bf16
#endif
#if defined(__AVX512FP16__)
#define TESSEL_ABI_T17 _fp16
#endif
#elif defined(__aarch64__) || defined(_M_ARM64)
#if defined(__ARM_FEATURE_SVE)
#define TESSEL_ABI_T01 _sve
#endif
#if defined(__ARM_FEATURE_SVE2)
#define TESSEL_ABI_T02 _sve2
#endif
#if defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
#define TESSEL_ABI_T03 _fp16
#endif
#if defined(__ARM_FEATURE_BF16) || defined(__ARM_FEATURE_BF16_VECTOR_ARITHMETIC)
#define TESSEL_ABI_T04 _bf16
#endif
#if defined(__ARM_FEATURE_DOTPROD)
#define TESSEL_ABI_T05 _dotprod
#endif
#endif

#if defined(TESSEL_DEBUG_BOUNDS)
#define TESSEL_ABI_T18 _dbg
#endif
#if !defined(_OPENMP)
#define TESSEL_ABI_T19 _noomp
#endif

#ifndef TESSEL_ABI_T01
#define TESSEL_ABI_T01
#endif
#ifndef TESSEL_ABI_T02
#define TESSEL_ABI_T02
#endif
#ifndef TESSEL_ABI_T03
#define TESSEL_ABI_T03
#endif
#ifndef TESSEL_ABI_T04
#define TESSEL_ABI_T04
#endif
#ifndef TESSEL_ABI_T05
#define TESSEL_ABI_T05
#endif
#ifndef TESSEL_ABI_T06
#define TESSEL_ABI_T06
#endif
#ifndef TESSEL_ABI_T07
#define TESSEL_ABI_T07
#endif
#ifndef TESSEL_ABI_T08
#define TESSEL_ABI_T08
#endif
#ifndef TESSEL_ABI_T09
#define TESSEL_ABI_T09
#endif
#ifndef TESSEL_ABI_T10
#define TESSEL_ABI_T10
#endif
#ifndef TESSEL_ABI_T11
#define TESSEL_ABI_T11
#endif
#ifndef TESSEL_ABI_T12
#define TESSEL_ABI_T12
#endif
#ifndef TESSEL_ABI_T13
#define TESSEL_ABI_T13
#endif
#ifndef TESSEL_ABI_T14
#define TESSEL_ABI_T14
#endif
#ifndef TESSEL_ABI_T15
#define TESSEL_ABI_T15
#endif
#ifndef TESSEL_ABI_T16
#define TESSEL_ABI_T16
#endif
#ifndef TESSEL_ABI_T17
#define TESSEL_ABI_T17
#endif
#ifndef TESSEL_ABI_T18
#define TESSEL_ABI_T18
#endif
#ifndef TESSEL_ABI_T19
#define TESSEL_ABI_T19
#endif

// abi_v0 + the tokens: abi_v0 for an x86-64 default build with OpenMP, abi_v0_dbg with
// assertions, abi_v0_sse3_ssse3_sse41_sse42_popcnt_avx_avx2_fma_f16c_bmi for -march=haswell.
// (The outer macro expands the tokens; the inner one pastes them, empty ones included.)
#define TESSEL_PP_JOIN_(prefix, t01, t02, t03, t04, t05, t06, t07, t08, t09, t10, t11, t12, t13, t14, t15, t16, t17, t18, t19) prefix##t01##t02##t03##t04##t05##t06##t07##t08##t09##t10##t11##t12##t13##t14##t15##t16##t17##t18##t19
#define TESSEL_PP_JOIN(...) TESSEL_PP_JOIN_(__VA_ARGS__)
#define TESSEL_ABI_NS TESSEL_PP_JOIN(abi_v0, TESSEL_ABI_T01, TESSEL_ABI_T02, TESSEL_ABI_T03, TESSEL_ABI_T04, TESSEL_ABI_T05, TESSEL_ABI_T06, TESSEL_ABI_T07, TESSEL_ABI_T08, TESSEL_ABI_T09, TESSEL_ABI_T10, TESSEL_ABI_T11, TESSEL_ABI_T12, TESSEL_ABI_T13, TESSEL_ABI_T14, TESSEL_ABI_T15, TESSEL_ABI_T16, TESSEL_ABI_T17, TESSEL_ABI_T18, TESSEL_ABI_T19)

#define TESSEL_PP_STR_(x) #x
#define TESSEL_PP_STR(x) TESSEL_PP_STR_(x)
// The namespace's name as a string, for tests and diagnostics.
#define TESSEL_ABI_NAME TESSEL_PP_STR(TESSEL_ABI_NS)

// Every tessel header wraps its definitions in these two.
#define TESSEL_NAMESPACE_BEGIN \
  namespace tessel {           \
  inline namespace TESSEL_ABI_NS {
#define TESSEL_NAMESPACE_END \
  }                          \
  }

// Process-wide settings, shared by every ABI namespace of one program: plain data with
// constant initialisation (no code, so nothing that flags could change), read and written
// only by the code inside the ABI namespaces.
#include <atomic>

namespace tessel::shared {
inline std::atomic<int> num_threads_setting{0};  // set_num_threads(); 0: not set
inline std::atomic<int> isa_setting{-1};         // set_isa() or TESSEL_ISA; -1: not decided yet
inline std::atomic<bool> forked_after_threads{false};  // this process is a fork() child of one that ran threads
inline std::atomic<int> amx_permission{-1};      // simd/os_permission.hpp: 1 granted, 0 refused, -1 not asked
}  // namespace tessel::shared
