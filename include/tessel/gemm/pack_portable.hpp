// tessel/gemm/pack_portable.hpp — the portable path's packs that transpose or spread lines,
// with vector extensions (simd/vector_ext.hpp) and no intrinsics of any architecture.
//
// The panel formats are pack.hpp's. Two kinds of pack are not a plain copy per k step:
//   interleave4   four lines contiguous along k (rows of a row-major A, columns of a
//                 transposed B) into four lanes of a panel: 4×4 blocks transposed in
//                 registers, where an element loop stores every value on its own
//   pack_lines    lines contiguous along the panels' width (columns of a transposed A, rows
//                 of a row-major B), each read once into every panel it spans
// Both convert float16/bfloat16 to fp32 with the portable conversion (simd/convert.hpp).
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>

#include "../simd/convert.hpp"
#include "../simd/prefetch.hpp"
#include "../simd/target.hpp"
#include "../simd/vector_ext.hpp"
#include "axis.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {
namespace isa_portable {

using vec::vfloat4;

// In-register transpose of a 4×4 fp32 block: on return r[j][i] is the old r[i][j].
// Interleaves pairs of rows, then pairs of halves (SSE2: unpcklps/unpckhps, movlhps/movhlps;
// NEON: zip1/zip2 and their 64-bit forms).
TESSEL_ALWAYS_INLINE void transpose4x4(vfloat4& r0, vfloat4& r1, vfloat4& r2, vfloat4& r3) {
  const vfloat4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
  const vfloat4 t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
  const vfloat4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
  const vfloat4 t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
  r0 = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
  r1 = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
  r2 = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
  r3 = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
}

TESSEL_ALWAYS_INLINE void store4(float* p, vfloat4 v) { *reinterpret_cast<vec::vfloat4_unaligned*>(p) = v; }

// out[p·ld + r] = float(line[r][p])  for p < kc, r < 4: four lines contiguous along p, into
// four adjacent lanes of a panel ld floats wide.
template <class T>
void interleave4(const T* const (&line)[4], std::int64_t kc, float* out, std::int64_t ld) {
  // (In locals: the panel's stores may alias anything, so line[] would be reloaded after each.)
  const T *const l0 = line[0], *const l1 = line[1], *const l2 = line[2], *const l3 = line[3];
  std::int64_t p = 0;
  for (; p + 4 <= kc; p += 4) {
    vfloat4 r0 = load4(l0 + p), r1 = load4(l1 + p), r2 = load4(l2 + p), r3 = load4(l3 + p);
    transpose4x4(r0, r1, r2, r3);
    float* o = out + p * ld;
    store4(o, r0);
    store4(o + ld, r1);
    store4(o + 2 * ld, r2);
    store4(o + 3 * ld, r3);
  }
  for (; p < kc; ++p)
    for (int r = 0; r < 4; ++r) out[p * ld + r] = static_cast<float>(line[r][p]);
}

// Packs n values along lines into W-wide panels (W a multiple of 4):
//   out[(j / W)·W·kc + p·W + j % W] = float(line_p[j])   p < kc, j < n (zeros up to whole W)
// where line_p = base + axis.offset(p0 + p) holds n contiguous values: the A-panel pack of a
// transposed A (lines along m) and the B-panel pack of a row-major B (lines along n). Each
// line is read once, start to end, into every panel: lines far apart, often a power of two
// apart, share a few cache sets, and panel by panel each would be evicted before the next
// panel came back for the rest of it. The panels are W·kc floats apart, so their rows of the
// same p share cache sets too: G lines go together, so that each panel gets a whole cache
// line of them at once rather than a part of a line that is evicted before the rest comes.
// Lines are prefetched a few ahead (no hardware prefetcher follows such jumps).
template <int W, class T>
void pack_lines(const T* base, const Axis& axis, std::int64_t p0, std::int64_t kc, std::int64_t n, float* out) {
  static_assert(W % 4 == 0);
  constexpr int G = W * 4 >= 64 ? 1 : 64 / (W * 4);  // lines per pass: a cache line of each panel
  constexpr int kAhead = 8;
  const std::int64_t full = n / W, left = n - full * W;
  const std::int64_t line_bytes = n * static_cast<std::int64_t>(sizeof(T));
  auto line_at = [&](std::int64_t p) { return base + axis.offset(p0 + p); };
  for (std::int64_t p = 0; p < std::min<std::int64_t>(kAhead, kc); ++p) prefetch_bytes(line_at(p), line_bytes);
  for (std::int64_t p = 0; p < kc; p += G) {
    const int g = static_cast<int>(std::min<std::int64_t>(G, kc - p));
    const T* line[G];
    for (int x = 0; x < g; ++x) {
      line[x] = line_at(p + x);
      if (p + x + kAhead < kc) prefetch_bytes(line_at(p + x + kAhead), line_bytes);
    }
    float* o = out + p * W;
    auto copy = [&](std::int64_t q, int x) {
#pragma GCC unroll 8
      for (int j = 0; j < W; j += 4) store4(o + x * W + j, load4(line[x] + q * W + j));
    };
    if (g == G) {  // (a loop the compiler unrolls, the line pointers in registers)
      for (std::int64_t q = 0; q < full; ++q, o += W * kc) {
#pragma GCC unroll 4
        for (int x = 0; x < G; ++x) copy(q, x);
      }
    } else {
      for (std::int64_t q = 0; q < full; ++q, o += W * kc)
        for (int x = 0; x < g; ++x) copy(q, x);
    }
    if (left > 0) {
      for (int x = 0; x < g; ++x) {
        int j = 0;
        for (; j < left; ++j) o[x * W + j] = static_cast<float>(line[x][full * W + j]);
        for (; j < W; ++j) o[x * W + j] = 0.0f;
      }
    }
  }
}

}  // namespace isa_portable
}  // namespace detail
TESSEL_NAMESPACE_END
