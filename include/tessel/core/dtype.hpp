// tessel/core/dtype.hpp — the two 2-byte storage types, float16 and bfloat16.
//
// Both are plain 16-bit patterns (trivially copyable, standard layout, the same size and
// layout whatever the compiler flags). They exist for storage: tessel computes in fp32 and
// converts a result to these types once, with round-to-nearest-even.
//
//   float32   s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm
//   bfloat16  s eeeeeeee mmmmmmm                  the top half of a float32
//   float16   s eeeee mmmmmmmmmm                  IEEE binary16, bias 15, subnormals below 2^-14
//
// Conversion to float is exact for both (a signalling float16 NaN becomes a quiet one).
// Conversion from float or double rounds once to nearest, ties to even; overflow gives ±Inf;
// NaN stays NaN and is made quiet (a signalling NaN's payload could otherwise round to the
// Inf pattern). Conversion from double rounds the
// double directly, never through float, which would round twice.
#pragma once

#include "config.hpp"

#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

TESSEL_NAMESPACE_BEGIN

namespace detail {

// Rounds `mantissa` right by `shift` bits (1 <= shift < 64), to nearest, ties to even.
constexpr std::uint64_t shift_round_even(std::uint64_t mantissa, int shift) {
  if (shift >= 64) return 0;
  const std::uint64_t kept = mantissa >> shift;
  const std::uint64_t rest = mantissa & ((std::uint64_t{1} << shift) - 1);
  const std::uint64_t half = std::uint64_t{1} << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1))) ? 1 : 0);
}

// Rounds a double to a binary format with ExpBits exponent bits and ManBits fraction bits
// and returns its bit pattern. One rounding step on the exact double value.
template <int ExpBits, int ManBits>
constexpr std::uint16_t round_double_to_bits(double value) {
  constexpr int bias = (1 << (ExpBits - 1)) - 1;
  constexpr std::uint64_t exp_all_ones = (std::uint64_t{1} << ExpBits) - 1;
  constexpr std::uint64_t inf_bits = exp_all_ones << ManBits;
  const std::uint64_t x = std::bit_cast<std::uint64_t>(value);
  const auto sign = static_cast<std::uint16_t>((x >> 63) << (ExpBits + ManBits));
  const std::uint64_t magnitude = x & ~(std::uint64_t{1} << 63);
  const int dexp = static_cast<int>(magnitude >> 52);
  const std::uint64_t dfrac = magnitude & ((std::uint64_t{1} << 52) - 1);
  if (dexp == 0x7ff) {
    if (dfrac == 0) return static_cast<std::uint16_t>(sign | inf_bits);
    // NaN: keep the top payload bits, force the quiet bit so it cannot become Inf.
    const std::uint64_t quiet = std::uint64_t{1} << (ManBits - 1);
    return static_cast<std::uint16_t>(sign | inf_bits | quiet | (dfrac >> (52 - ManBits)));
  }
  if (dexp == 0) return sign;  // double subnormals are far below every target subnormal
  const int unbiased = dexp - 1023;
  const std::uint64_t significand = dfrac | (std::uint64_t{1} << 52);  // 1.f as a 53-bit integer
  constexpr int min_normal_exp = 1 - bias;
  std::uint64_t r;
  if (unbiased >= min_normal_exp) {
    // Normal range: exponent and fraction side by side, then round the fraction; a carry
    // out of the fraction correctly bumps the exponent (and may reach the Inf pattern).
    const std::uint64_t te = static_cast<std::uint64_t>(unbiased + bias);
    if (te >= exp_all_ones) return static_cast<std::uint16_t>(sign | inf_bits);
    r = shift_round_even((te << 52) | dfrac, 52 - ManBits);
  } else {
    // Subnormal range: value / 2^(min_normal_exp - ManBits) is the integer we want.
    const int shift = (52 - ManBits) + (min_normal_exp - unbiased);
    r = shift_round_even(significand, shift);
  }
  if (r >= inf_bits) r = inf_bits;
  return static_cast<std::uint16_t>(sign | r);
}

// float -> bfloat16 bits. bfloat16 is the top half of a float, so rounding is an integer add:
// add 0x7FFF plus the lowest kept bit (ties to even), keep the top 16 bits. A carry rounds
// up into the exponent, and the largest finite floats correctly round to Inf.
constexpr std::uint16_t float_to_bfloat16_bits(float value) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  const std::uint32_t lsb = (x >> 16) & 1u;
  return static_cast<std::uint16_t>((x + 0x7fffu + lsb) >> 16);
}

// float -> IEEE binary16 bits, integer arithmetic only.
constexpr std::uint16_t float_to_float16_bits(float value) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // Inf or NaN
    if (a == 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u);
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  }
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to Inf
  if (a >= 0x38800000u) {  // normal in binary16 (>= 2^-14): rebias 127 -> 15, round 13 bits away
    const std::uint32_t rebased = a - (112u << 23);
    return static_cast<std::uint16_t>(sign | shift_round_even(rebased, 13));
  }
  // Subnormal (or zero) in binary16: the result counts units of 2^-24.
  const int e = static_cast<int>(a >> 23);
  if (e < 102) return sign;  // below 2^-25: rounds to zero (2^-25 itself is a tie to even 0)
  const std::uint32_t significand = (a & 0x7fffffu) | 0x800000u;
  return static_cast<std::uint16_t>(sign | shift_round_even(significand, 126 - e));
}

constexpr float bfloat16_bits_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// IEEE binary16 bits -> float, exact.
constexpr float float16_bits_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exp = (bits >> 10) & 0x1fu;
  std::uint32_t frac = bits & 0x3ffu;
  if (exp == 0x1f) {
    if (frac == 0) return std::bit_cast<float>(sign | 0x7f800000u);  // Inf
    // NaN: keep sign and payload, make it quiet, as F16C's vcvtph2ps does, so that every
    // ISA path converts every bit pattern identically.
    return std::bit_cast<float>(sign | 0x7fc00000u | (frac << 13));
  }
  if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (frac << 13));
  if (frac == 0) return std::bit_cast<float>(sign);
  // Subnormal: normalise. The value is frac * 2^-24.
  int e = 113;  // biased float exponent of 2^-14
  while ((frac & 0x400u) == 0) {
    frac <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (static_cast<std::uint32_t>(e) << 23) | ((frac & 0x3ffu) << 13));
}

}  // namespace detail

// IEEE 754 binary16: 1 sign, 5 exponent, 10 fraction bits.
struct float16 {
  std::uint16_t bits = 0;

  float16() = default;
  explicit constexpr float16(float value) : bits(detail::float_to_float16_bits(value)) {}
  explicit constexpr float16(double value) : bits(detail::round_double_to_bits<5, 10>(value)) {}
  explicit constexpr operator float() const { return detail::float16_bits_to_float(bits); }
  explicit constexpr operator double() const { return static_cast<double>(detail::float16_bits_to_float(bits)); }

  static constexpr float16 from_bits(std::uint16_t b) {
    float16 h;
    h.bits = b;
    return h;
  }
  // Bitwise equality (NaN == NaN, +0 != -0): what "the same result" means for storage.
  friend constexpr bool same_bits(float16 a, float16 b) { return a.bits == b.bits; }
};

// bfloat16: the top 16 bits of a float32 (1 sign, 8 exponent, 7 fraction bits).
struct bfloat16 {
  std::uint16_t bits = 0;

  bfloat16() = default;
  explicit constexpr bfloat16(float value) : bits(detail::float_to_bfloat16_bits(value)) {}
  explicit constexpr bfloat16(double value) : bits(detail::round_double_to_bits<8, 7>(value)) {}
  explicit constexpr operator float() const { return detail::bfloat16_bits_to_float(bits); }
  explicit constexpr operator double() const { return static_cast<double>(detail::bfloat16_bits_to_float(bits)); }

  static constexpr bfloat16 from_bits(std::uint16_t b) {
    bfloat16 h;
    h.bits = b;
    return h;
  }
  friend constexpr bool same_bits(bfloat16 a, bfloat16 b) { return a.bits == b.bits; }
};

// The layout promise, checked where it is made.
static_assert(sizeof(float16) == 2 && alignof(float16) == 2, "float16 must be exactly 2 bytes");
static_assert(sizeof(bfloat16) == 2 && alignof(bfloat16) == 2, "bfloat16 must be exactly 2 bytes");
static_assert(std::is_trivially_copyable_v<float16> && std::is_trivially_copyable_v<bfloat16>);
static_assert(std::is_standard_layout_v<float16> && std::is_standard_layout_v<bfloat16>);

// ---- one traits table per element type ------------------------------------------------------
// Code that treats the element types differently asks these (and static_asserts on the
// kinds it handles) rather than taking "neither float nor float16" to mean bfloat16.
enum class DType : unsigned char { float32, float16, bfloat16 };

template <class T>
struct dtype_traits;  // defined for the element types only

template <>
struct dtype_traits<float> {
  static constexpr DType id = DType::float32;
  static constexpr const char* name = "float32";
  static constexpr int precision = 24;        // significand bits, the implicit one included
  static constexpr int min_exponent = -126;   // of the smallest normal value
  static constexpr bool is_storage_only = false;  // computed in as it is
};
template <>
struct dtype_traits<float16> {
  static constexpr DType id = DType::float16;
  static constexpr const char* name = "float16";
  static constexpr int precision = 11;
  static constexpr int min_exponent = -14;
  static constexpr bool is_storage_only = true;  // converted to float to compute
};
template <>
struct dtype_traits<bfloat16> {
  static constexpr DType id = DType::bfloat16;
  static constexpr const char* name = "bfloat16";
  static constexpr int precision = 8;
  static constexpr int min_exponent = -126;
  static constexpr bool is_storage_only = true;
};

// The element types every tessel operation accepts.
template <class T>
inline constexpr bool is_element_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>;

template <class T>
concept ElementType = is_element_type_v<T>;

// The kind of an element type (const ignored).
template <class T>
inline constexpr DType dtype_of = dtype_traits<std::remove_const_t<T>>::id;

// Converts any element type to float (exact) and back (one round-to-nearest-even).
template <class T>
constexpr float to_float(T value) {
  return static_cast<float>(value);
}
template <class T>
constexpr T from_float(float value) {
  if constexpr (std::is_same_v<T, float>) return value;
  else return T(value);
}

// The name of an element type, for messages and benchmark labels.
template <class T>
constexpr const char* dtype_name() {
  static_assert(is_element_type_v<std::remove_const_t<T>>, "dtype_name: T must be float, float16 or bfloat16");
  return dtype_traits<std::remove_const_t<T>>::name;
}

TESSEL_NAMESPACE_END
