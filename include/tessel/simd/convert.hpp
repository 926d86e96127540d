// tessel/simd/convert.hpp — bulk conversion between element types and float, per ISA.
//
// The engine converts float16/bfloat16 to fp32 while packing and fp32 to the output type
// while storing; these are the loops it uses. Every ISA gives bit-identical results to the
// scalar definitions in core/dtype.hpp (round-to-nearest-even, NaN stays a quiet NaN).
//
//   to_float<Isa>(src, dst, n)                  dst[i] = float(src[i])
//   from_float<Isa>(src, dst, n, beta, stream)  dst[i] = T(src[i])                           beta = 0
//                                               dst[i] = T(src[i] + float(dst[i]))           beta = 1
//                                               dst[i] = T(fma(beta, float(dst[i]), src[i])) otherwise
// With beta = 0, dst is only written, never read (it may hold anything, NaN included).
// `stream` asks for non-temporal stores where the ISA has them: for outputs far larger than
// the caches, which are written once and not read again soon.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/dtype.hpp"
#include "cpu_features.hpp"
#include "target.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

// ---- scalar: the definition every other path must match ----
namespace isa_scalar {
template <class T>
inline void to_float(const T* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}
// src + beta·old, as from_float defines it for beta != 0 (one rounding: the fma's).
inline float add_scaled(float src, float old, float beta) { return beta == 1.0f ? src + old : std::fma(beta, old, src); }
template <class T>
inline void from_float(const float* src, T* dst, std::int64_t n, float beta, bool /*stream*/) {
  if (beta != 0.0f) {
    for (std::int64_t i = 0; i < n; ++i)
      dst[i] = tessel::from_float<T>(add_scaled(src[i], static_cast<float>(dst[i]), beta));
  } else {
    for (std::int64_t i = 0; i < n; ++i) dst[i] = tessel::from_float<T>(src[i]);
  }
}
}  // namespace isa_scalar

#if defined(TESSEL_HAVE_X86_TARGETS)
TESSEL_SIMD_CODE_BEGIN

// ---- AVX-512 ----
namespace isa_avx512 {

// 16 values of T -> 16 floats.
template <class T>
TESSEL_TARGET_AVX512 inline __m512 load16(const T* p, __mmask16 m = 0xffff) {
  if constexpr (std::is_same_v<T, float>) {
    return _mm512_maskz_loadu_ps(m, p);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if constexpr (std::is_same_v<T, float16>) return _mm512_cvtph_ps(h);
    else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

// 16 floats -> 16 bfloat16 bit patterns, rounded to nearest even; NaN made quiet.
TESSEL_TARGET_AVX512 inline __m256i round_to_bf16(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

template <class T>
TESSEL_TARGET_AVX512 inline void store16(T* p, __m512 v, __mmask16 m, bool stream) {
  if constexpr (std::is_same_v<T, float>) {
    if (stream && m == 0xffff) _mm512_stream_ps(p, v);
    else _mm512_mask_storeu_ps(p, m, v);
  } else {
    __m256i h;
    if constexpr (std::is_same_v<T, float16>) h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    else h = round_to_bf16(v);
    if (stream && m == 0xffff) _mm256_stream_si256(reinterpret_cast<__m256i*>(p), h);
    else _mm256_mask_storeu_epi16(p, m, h);
  }
}

template <class T>
TESSEL_TARGET_AVX512 inline void to_float(const T* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(src + i));
  if (i < n) {
    const auto m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(dst + i, m, load16(src + i, m));
  }
}

// v + beta·old (beta != 0), rounded as isa_scalar::add_scaled rounds.
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE __m512 add_scaled(__m512 v, __m512 old, float beta) {
  return beta == 1.0f ? _mm512_add_ps(v, old) : _mm512_fmadd_ps(_mm512_set1_ps(beta), old, v);
}

template <class T>
TESSEL_TARGET_AVX512 inline void from_float(const float* src, T* dst, std::int64_t n, float beta, bool stream) {
  std::int64_t i = 0;
  if (stream) {
    // Non-temporal stores need aligned addresses: ordinary stores up to the first one.
    constexpr std::int64_t vec_bytes = 16 * sizeof(T);
    while (i < n && (reinterpret_cast<std::uintptr_t>(dst + i) % vec_bytes) != 0) {
      // Not src + 0 when beta is 0: -0 + 0 is +0, and a signalling NaN would become quiet.
      dst[i] = tessel::from_float<T>(beta != 0.0f ? isa_scalar::add_scaled(src[i], static_cast<float>(dst[i]), beta)
                                                  : src[i]);
      ++i;
    }
  }
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(src + i);
    if (beta != 0.0f) v = add_scaled(v, load16(dst + i), beta);
    store16(dst + i, v, 0xffff, stream);
  }
  if (i < n) {
    const auto m = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(m, src + i);
    if (beta != 0.0f) v = add_scaled(v, load16(dst + i, m), beta);
    store16(dst + i, v, m, false);
  }
}
}  // namespace isa_avx512

// ---- AVX2 + FMA + F16C ----
namespace isa_avx2 {

template <class T>
TESSEL_TARGET_AVX2 inline __m256 load8(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return _mm256_loadu_ps(p);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    if constexpr (std::is_same_v<T, float16>) return _mm256_cvtph_ps(h);
    else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

TESSEL_TARGET_AVX2 inline __m128i round_to_bf16(__m256 v) {
  const __m256i x = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), 16);
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
  r = _mm256_blendv_epi8(r, quiet, nan);
  // Pack 8 x 32-bit (values < 2^16) to 8 x 16-bit.
  const __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
  return _mm_packus_epi32(lo, hi);
}

template <class T>
TESSEL_TARGET_AVX2 inline void store8(T* p, __m256 v, bool stream) {
  if constexpr (std::is_same_v<T, float>) {
    if (stream) _mm256_stream_ps(p, v);
    else _mm256_storeu_ps(p, v);
  } else {
    __m128i h;
    if constexpr (std::is_same_v<T, float16>) h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    else h = round_to_bf16(v);
    if (stream) _mm_stream_si128(reinterpret_cast<__m128i*>(p), h);
    else _mm_storeu_si128(reinterpret_cast<__m128i*>(p), h);
  }
}

template <class T>
TESSEL_TARGET_AVX2 inline void to_float(const T* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src + i));
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}

template <class T>
TESSEL_TARGET_AVX2 inline void from_float(const float* src, T* dst, std::int64_t n, float beta, bool stream) {
  std::int64_t i = 0;
  auto one = [&](std::int64_t j) {
    dst[j] = tessel::from_float<T>(beta != 0.0f ? isa_scalar::add_scaled(src[j], static_cast<float>(dst[j]), beta)
                                                : src[j]);
  };
  if (stream) {
    constexpr std::int64_t vec_bytes = 8 * sizeof(T);
    while (i < n && (reinterpret_cast<std::uintptr_t>(dst + i) % vec_bytes) != 0) one(i++);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    if (beta == 1.0f) v = _mm256_add_ps(v, load8(dst + i));
    else if (beta != 0.0f) v = _mm256_fmadd_ps(_mm256_set1_ps(beta), load8(dst + i), v);
    store8(dst + i, v, stream);
  }
  for (; i < n; ++i) one(i);
}
}  // namespace isa_avx2

TESSEL_SIMD_CODE_END
#endif  // TESSEL_HAVE_X86_TARGETS

// Orders this thread's non-temporal stores (stream = true) before its later stores, as
// another thread reading the results needs (the engine fences at the end of each unit).
inline void streaming_store_fence() {
#if defined(TESSEL_HAVE_X86_TARGETS)
  _mm_sfence();
#endif
}

// Dispatch on a run-time ISA (the engine calls the ISA-specific ones directly).
template <class T>
inline void convert_to_float(Isa isa, const T* src, float* dst, std::int64_t n) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (isa == Isa::avx512) return isa_avx512::to_float(src, dst, n);
  if (isa == Isa::avx2) return isa_avx2::to_float(src, dst, n);
#endif
  (void)isa;
  isa_scalar::to_float(src, dst, n);
}
template <class T>
inline void convert_from_float(Isa isa, const float* src, T* dst, std::int64_t n, float beta = 0.0f,
                               bool stream = false) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (isa == Isa::avx512) return isa_avx512::from_float(src, dst, n, beta, stream);
  if (isa == Isa::avx2) return isa_avx2::from_float(src, dst, n, beta, stream);
#endif
  (void)isa;
  (void)stream;
  isa_scalar::from_float(src, dst, n, beta, false);
}

}  // namespace detail
TESSEL_NAMESPACE_END
