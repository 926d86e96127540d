// tessel/simd/convert.hpp — bulk conversion between element types and float, per ISA.
//
// The engine converts float16/bfloat16 to fp32 while packing and fp32 to the output type
// while storing; these are the loops it uses. Every ISA gives bit-identical results to the
// scalar definitions in core/dtype.hpp (round-to-nearest-even, NaN stays a quiet NaN).
// Paths: scalar (the portable path: vector extensions, isa_portable), avx2 and avx512 on
// x86-64, neon on AArch64.
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
#include "isa_registry.hpp"
#include "target.hpp"
#include "vector_ext.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif
#if defined(TESSEL_HAVE_NEON_TARGETS)
#include <arm_neon.h>
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

// ---- portable: vector extensions (simd/vector_ext.hpp) ----
// What the portable path (Isa::scalar) runs. Converting to float is vector code for every
// type; converting back is for float and bfloat16, while float16 and β other than 0 and 1
// keep the scalar loops: binary16's rounding and subnormals have no short vector form, and
// fma(β, old, src) must be one rounding, which a vector multiply and add on a target without
// FMA are not.
namespace isa_portable {

using vec::kLanes;
using vec::vfloat;

// float16 bit patterns (one in the low half of each 32-bit lane of x) -> the floats they
// are, exactly as float16_bits_to_float (F: the float vector of x's width). Integer work but
// for subnormals, whose value m·2^-24 comes from floats that are never subnormal themselves
// ((2^23 + m) - 2^23, then scaled), so flush-to-zero and denormals-are-zero modes cannot
// change a result. Lanes are told apart by equality only (SSE2 has no unsigned compare).
template <class F, class U>
TESSEL_ALWAYS_INLINE F float16_lanes_to_float(U x) {
  const U sign = (x & 0x8000u) << 16;
  const U em = x & 0x7fffu;  // exponent and fraction
  const U exp = em >> 10;
  const U normal = (em << 13) + (112u << 23);
  const U is_special = reinterpret_cast<U>(exp == 31u), is_sub = reinterpret_cast<U>(exp == 0u);
  const U has_fraction = ~reinterpret_cast<U>((em & 0x3ffu) == 0u);
  const U special = (em << 13) | 0x7f800000u | (has_fraction & 0x00400000u);  // Inf; NaN made quiet, as F16C
  const U sub = reinterpret_cast<U>((reinterpret_cast<F>(em | 0x4b000000u) - 8388608.0f) * 0x1p-24f);
  return reinterpret_cast<F>(sign | (is_special & special) | (is_sub & sub) | (~(is_special | is_sub) & normal));
}

// 16-bit patterns widened to 32-bit lanes -> the floats they are in type T.
template <class T, class F, class U>
TESSEL_ALWAYS_INLINE F half_lanes_to_float(U x) {
  if constexpr (dtype_of<T> == DType::float16) {
    return float16_lanes_to_float<F>(x);
  } else {
    static_assert(dtype_of<T> == DType::bfloat16);  // the top half of a float
    return reinterpret_cast<F>(x << 16);
  }
}

// kLanes values -> floats.
template <class T>
inline vfloat load(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return *reinterpret_cast<const vec::vfloat_unaligned*>(p);
  } else {
    vec::vhalf_unaligned h;
    std::memcpy(&h, static_cast<const void*>(p), sizeof(h));  // T is trivially copyable
    return half_lanes_to_float<T, vfloat>(__builtin_convertvector(h, vec::vuint_unaligned));
  }
}

// Four values -> floats.
template <class T>
TESSEL_ALWAYS_INLINE vec::vfloat4 load4(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return *reinterpret_cast<const vec::vfloat4_unaligned*>(p);
  } else {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    // Widened by interleaving with zeros (SSE2: one punpcklwd; GCC's own widening of four
    // lanes takes five instructions).
    std::uint64_t bits;
    std::memcpy(&bits, static_cast<const void*>(p), sizeof(bits));
    const vec::vhalf8 h = reinterpret_cast<vec::vhalf8>(vec::vuint64x2{bits, 0});
    const vec::vhalf8 w = __builtin_shufflevector(h, vec::vhalf8{}, 0, 8, 1, 9, 2, 10, 3, 11);
    return half_lanes_to_float<T, vec::vfloat4>(reinterpret_cast<vec::vuint4>(w));
#else
    vec::vhalf4_unaligned h;
    std::memcpy(&h, static_cast<const void*>(p), sizeof(h));
    return half_lanes_to_float<T, vec::vfloat4>(__builtin_convertvector(h, vec::vuint4));
#endif
  }
}

// kLanes floats -> bfloat16, rounded to nearest even; NaN made quiet (as float_to_bfloat16_bits).
template <class T>
inline void store(T* p, vfloat v) {
  if constexpr (std::is_same_v<T, float>) {
    *reinterpret_cast<vec::vfloat_unaligned*>(p) = v;
  } else {
    static_assert(dtype_of<T> == DType::bfloat16);
    using U = vec::vuint_unaligned;
    const U x = reinterpret_cast<U>(v);
    const U rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    const U quiet = (x >> 16) | 0x40u;
    const U nan = reinterpret_cast<U>(v != v);  // all ones in NaN lanes
    const vec::vhalf_unaligned h = __builtin_convertvector((nan & quiet) | (~nan & rounded), vec::vhalf_unaligned);
    std::memcpy(static_cast<void*>(p), &h, sizeof(h));
  }
}

template <class T>
inline void to_float(const T* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(dst + i, load(src + i));
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}

template <class T>
inline void from_float(const float* src, T* dst, std::int64_t n, float beta, bool stream) {
  if constexpr (dtype_of<T> == DType::float16) {
    isa_scalar::from_float(src, dst, n, beta, stream);
  } else {
    if (beta != 0.0f && beta != 1.0f) return isa_scalar::from_float(src, dst, n, beta, stream);
    std::int64_t i = 0;
    if (beta == 0.0f)
      for (; i + kLanes <= n; i += kLanes) store(dst + i, load(src + i));
    else
      for (; i + kLanes <= n; i += kLanes) store(dst + i, load(src + i) + load(dst + i));
    if (i < n) isa_scalar::from_float(src + i, dst + i, n - i, beta, stream);
  }
}
}  // namespace isa_portable

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
    if constexpr (dtype_of<T> == DType::float16) {
      return _mm512_cvtph_ps(h);
    } else {
      static_assert(dtype_of<T> == DType::bfloat16);  // the top half of a float
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
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
    if constexpr (dtype_of<T> == DType::float16) {
      h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else {
      static_assert(dtype_of<T> == DType::bfloat16);
      h = round_to_bf16(v);
    }
    if (stream && m == 0xffff) _mm256_stream_si256(reinterpret_cast<__m256i*>(p), h);
    else _mm256_mask_storeu_epi16(p, m, h);
  }
}

}  // namespace isa_avx512

// ---- AVX-512 with AVX512-BF16 ----
namespace isa_avx512_bf16 {

// vfpclassps's category of fp32 denormals: the values vcvtne2ps2bf16 and vcvtneps2bf16 flush.
inline constexpr int kFpClassDenormal = 0x20;

// Whether this CPU converts with vcvtne2ps2bf16 (store32 below).
inline bool converts_bf16() {
  static const bool has = cpu_features().has(kAvx512PathFeatures | kFeatureAvx512Bf16);
  return has;
}

// 32 floats (lo: the first 16) rounded to bfloat16 by vcvtne2ps2bf16 and stored at p (64
// bytes; non-temporally when stream, then p is 64-byte aligned). Its rounding is
// round_to_bf16's (nearest even; a NaN made quiet, its sign and payload's top bits kept) for
// every input but an fp32 denormal, which it flushes to ±0: with one among the 32, nothing is
// written and the result is false (the caller converts them with round_to_bf16). One
// instruction for what takes round_to_bf16 about a dozen, where bfloat16 outputs are written
// as fast as the tile units produce them.
TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE bool store32(bfloat16* p, __m512 lo, __m512 hi, bool stream) {
  if (_mm512_fpclass_ps_mask(lo, kFpClassDenormal) | _mm512_fpclass_ps_mask(hi, kFpClassDenormal)) return false;
  const __m512i h = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));
  if (stream) _mm512_stream_si512(reinterpret_cast<__m512i*>(p), h);
  else _mm512_storeu_si512(p, h);
  return true;
}

// dst[i] = bfloat16(src[i]) for i < n (β = 0) with store32, 32 at a time; a block of 32
// holding a denormal goes through round_to_bf16; the tail of n % 32 is the caller's.
// stream: dst is 32-byte aligned (store16's alignment); whole blocks at 64 bytes stream.
TESSEL_TARGET_AVX512_BF16 inline std::int64_t from_float32s(const float* src, bfloat16* dst, std::int64_t n,
                                                             bool stream) {
  std::int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 lo = _mm512_loadu_ps(src + i), hi = _mm512_loadu_ps(src + i + 16);
    if (store32(dst + i, lo, hi, stream && reinterpret_cast<std::uintptr_t>(dst + i) % 64 == 0)) continue;
    isa_avx512::store16(dst + i, lo, 0xffff, stream);
    isa_avx512::store16(dst + i + 16, hi, 0xffff, stream);
  }
  return i;
}

}  // namespace isa_avx512_bf16

namespace isa_avx512 {

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
  if constexpr (dtype_of<T> == DType::bfloat16) {
    if (beta == 0.0f && isa_avx512_bf16::converts_bf16()) i += isa_avx512_bf16::from_float32s(src + i, dst + i, n - i, stream);
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
    if constexpr (dtype_of<T> == DType::float16) {
      return _mm256_cvtph_ps(h);
    } else {
      static_assert(dtype_of<T> == DType::bfloat16);
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
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
    if constexpr (dtype_of<T> == DType::float16) {
      h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    } else {
      static_assert(dtype_of<T> == DType::bfloat16);
      h = round_to_bf16(v);
    }
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

#if defined(TESSEL_HAVE_NEON_TARGETS)
// ---- AArch64 NEON (Advanced SIMD: FCVTL/FCVTN for float16, integer rounding for bfloat16) ----
// FCVTL/FCVTN round to nearest even and quiet NaNs keeping their top payload bits under the
// default FPCR (what Linux gives every thread), exactly as core/dtype.hpp's definitions do.
namespace isa_neon {

// 4 values of T -> 4 floats. The 16-bit types are read through memcpy (no aliasing of
// float16 objects as integers).
template <class T>
inline float32x4_t load4(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return vld1q_f32(p);
  } else {
    uint16x4_t h;
    std::memcpy(&h, p, sizeof(h));
    if constexpr (dtype_of<T> == DType::float16) {
      return vcvt_f32_f16(vreinterpret_f16_u16(h));
    } else {
      static_assert(dtype_of<T> == DType::bfloat16);  // the top half of a float
      return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
    }
  }
}

// 4 floats -> 4 bfloat16 bit patterns, rounded to nearest even; NaN made quiet.
inline uint16x4_t round_to_bf16(float32x4_t v) {
  const uint32x4_t x = vreinterpretq_u32_f32(v);
  const uint32x4_t lsb = vandq_u32(vshrq_n_u32(x, 16), vdupq_n_u32(1));
  const uint32x4_t rounded = vshrq_n_u32(vaddq_u32(x, vaddq_u32(lsb, vdupq_n_u32(0x7fff))), 16);
  const uint32x4_t quiet = vorrq_u32(vshrq_n_u32(x, 16), vdupq_n_u32(0x40));
  const uint32x4_t ordered = vceqq_f32(v, v);  // all ones unless NaN
  return vmovn_u32(vbslq_u32(ordered, rounded, quiet));
}

template <class T>
inline void store4(T* p, float32x4_t v) {
  if constexpr (std::is_same_v<T, float>) {
    vst1q_f32(p, v);
  } else {
    uint16x4_t h;
    if constexpr (dtype_of<T> == DType::float16) {
      h = vreinterpret_u16_f16(vcvt_f16_f32(v));
    } else {
      static_assert(dtype_of<T> == DType::bfloat16);
      h = round_to_bf16(v);
    }
    std::memcpy(static_cast<void*>(p), &h, sizeof(h));  // T is trivially copyable
  }
}

template <class T>
inline void to_float(const T* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, load4(src + i));
  for (; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}

// Non-temporal stores are not used (`stream` is a hint): AArch64's STNP is a pair store
// with no ordering benefit the engine relies on.
template <class T>
inline void from_float(const float* src, T* dst, std::int64_t n, float beta, bool /*stream*/) {
  std::int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t v = vld1q_f32(src + i);
    if (beta == 1.0f) v = vaddq_f32(v, load4(dst + i));
    else if (beta != 0.0f) v = vfmaq_f32(v, vdupq_n_f32(beta), load4(dst + i));  // one rounding, as std::fma
    store4(dst + i, v);
  }
  for (; i < n; ++i)
    dst[i] = tessel::from_float<T>(beta != 0.0f ? isa_scalar::add_scaled(src[i], static_cast<float>(dst[i]), beta)
                                                : src[i]);
}
}  // namespace isa_neon
#endif  // TESSEL_HAVE_NEON_TARGETS

// Orders this thread's non-temporal stores (stream = true) before its later stores, as
// another thread reading the results needs (the engine fences at the end of each unit).
inline void streaming_store_fence() {
#if defined(TESSEL_HAVE_X86_TARGETS)
  _mm_sfence();
#endif
}

// The conversions of each path (simd/isa_registry.hpp): the portable ones, unless a path
// has its own (a specialization below). Each is its namespace's to_float and from_float.
#define TESSEL_CONVERT_WITH(ns)                                                                 \
  template <class T>                                                                           \
  static void to_float(const T* src, float* dst, std::int64_t n) {                             \
    ns::to_float(src, dst, n);                                                                 \
  }                                                                                            \
  template <class T>                                                                           \
  static void from_float(const float* src, T* dst, std::int64_t n, float beta, bool stream) {  \
    ns::from_float(src, dst, n, beta, stream);                                                 \
  }
template <Isa I>
struct IsaConvert {
  TESSEL_CONVERT_WITH(isa_portable)
};
#if defined(TESSEL_HAVE_X86_TARGETS)
template <>
struct IsaConvert<Isa::avx2> {
  TESSEL_CONVERT_WITH(isa_avx2)
};
template <>
struct IsaConvert<Isa::avx512> {
  TESSEL_CONVERT_WITH(isa_avx512)
};
#endif
#if defined(TESSEL_HAVE_NEON_TARGETS)
template <>
struct IsaConvert<Isa::neon> {
  TESSEL_CONVERT_WITH(isa_neon)
};
#endif
#undef TESSEL_CONVERT_WITH

// The same on a run-time path (the engine calls IsaConvert<I> directly).
template <class T>
void convert_to_float(Isa isa, const T* src, float* dst, std::int64_t n) {
  visit_isa(isa, [&]<Isa I>() { IsaConvert<I>::to_float(src, dst, n); });
}
template <class T>
void convert_from_float(Isa isa, const float* src, T* dst, std::int64_t n, float beta = 0.0f, bool stream = false) {
  visit_isa(isa, [&]<Isa I>() { IsaConvert<I>::from_float(src, dst, n, beta, stream); });
}

}  // namespace detail
TESSEL_NAMESPACE_END
