// tessel/simd/vector_ext.hpp — the portable path's vector types: GCC/Clang vector extensions
// (no intrinsics of any architecture), as wide as the build's flags guarantee, so that every
// 64-bit target gets SIMD code from its compiler.
//
//   16 bytes  by default: SSE2 on x86-64, NEON/ASIMD on AArch64, the 128-bit units elsewhere
//   32 bytes  when the build enables AVX (-mavx, -march=...)
//   64 bytes  when it enables AVX-512F
//
// All may alias the scalars they are loaded from (they read and write float and 16-bit
// arrays); the _unaligned variants need only the alignment of their element.
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#if !(defined(__GNUC__) || defined(__clang__))
#error "tessel's portable path needs GCC or Clang vector extensions"
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail::vec {

#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
inline constexpr int kVectorBytes = 32;
#else
inline constexpr int kVectorBytes = 16;
#endif
inline constexpr int kLanes = kVectorBytes / 4;  // floats per vector

typedef float vfloat __attribute__((vector_size(kVectorBytes), __may_alias__));
typedef float vfloat_unaligned __attribute__((vector_size(kVectorBytes), __may_alias__, aligned(4)));
typedef std::uint32_t vuint_unaligned __attribute__((vector_size(kVectorBytes), __may_alias__, aligned(4)));
// kLanes 16-bit values (float16/bfloat16 bit patterns).
typedef std::uint16_t vhalf_unaligned __attribute__((vector_size(kVectorBytes / 2), __may_alias__, aligned(2)));
// Exactly four floats, and four 32-bit integers, whatever the width above.
typedef float vfloat4 __attribute__((vector_size(16), __may_alias__));
typedef std::int32_t vint4 __attribute__((vector_size(16), __may_alias__));
typedef float vfloat4_unaligned __attribute__((vector_size(16), __may_alias__, aligned(4)));
typedef std::uint32_t vuint4 __attribute__((vector_size(16), __may_alias__));
// Four 16-bit values; eight.
typedef std::uint16_t vhalf4_unaligned __attribute__((vector_size(8), __may_alias__, aligned(2)));
typedef std::uint16_t vhalf8 __attribute__((vector_size(16), __may_alias__));
typedef std::uint64_t vuint64x2 __attribute__((vector_size(16), __may_alias__));

}  // namespace detail::vec
TESSEL_NAMESPACE_END
