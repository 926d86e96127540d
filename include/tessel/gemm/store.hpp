// tessel/gemm/store.hpp — the store: the fp32 block of A·B on its way to C (DESIGN's "store"
// box): the epilogue (α, bias, β·C, gemm/problem.hpp), the one rounding to the output type,
// masked edges, non-temporal stores.
//
// Every path that writes C goes through this file:
//   prepare_epilogue   once per work unit: the unit's slice of the bias, converted to fp32
//   apply_epilogue     v = α·acc + bias on the fp32 block, in place, right after the kernel
//                      wrote a tile (while it is in L1); nothing when there is neither
//   store_block        the fp32 block (or one tile) to C: + β·C, one rounding, streaming
//   PendingTile, store_pending, flush_pending
//                      tiles a kernel writes to C while it computes the next (run_store)
// So a bias costs one pass over tiles in L1, keeps spread and streaming stores (it never
// reads C), and a call without one runs exactly the code it ran before it existed.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/dtype.hpp"
#include "../simd/convert.hpp"
#include "../simd/target.hpp"
#include "axis.hpp"
#include "blocking.hpp"
#include "problem.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// ---- the epilogue on the fp32 block ---------------------------------------------------------

// The epilogue of one work unit (rows i0.., columns j0.. of C), ready for apply_epilogue.
struct EpilogueBlock {
  float alpha = 1.0f;
  const float* bias_cols = nullptr;  // bias by column of the unit, padded with zeros to whole vectors
  const float* bias_rows = nullptr;  // bias by row of the unit
  bool active = false;               // whether apply_epilogue changes anything
};

// The floats of scratch prepare_epilogue needs for a unit of mc × nc.
inline std::int64_t epilogue_floats(std::int64_t mc, std::int64_t nc) { return round_up(std::max(mc, nc), 32) + 32; }

// The unit's epilogue: its bias slice converted to fp32 into `scratch` (epilogue_floats long).
template <class T>
EpilogueBlock prepare_epilogue(const Epilogue<T>& e, std::int64_t i0, std::int64_t mc, std::int64_t j0,
                               std::int64_t nc, float* scratch) {
  EpilogueBlock b;
  b.alpha = e.alpha;
  b.active = e.scales_or_biases();
  if (!e.bias) return b;
  const bool along_n = e.bias_along == BiasAlong::n;
  const std::int64_t first = along_n ? j0 : i0, count = along_n ? nc : mc;
  const std::int64_t padded = epilogue_floats(mc, nc);
  for (std::int64_t x = 0; x < count; ++x) scratch[x] = tessel::to_float(e.bias[(first + x) * e.bias_stride]);
  std::fill(scratch + count, scratch + padded, 0.0f);
  (along_n ? b.bias_cols : b.bias_rows) = scratch;
  return b;
}

#if defined(TESSEL_HAVE_X86_TARGETS)
namespace isa_avx512 {
TESSEL_TARGET_AVX512 inline void apply_epilogue(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                                                const EpilogueBlock& e, std::int64_t r0, std::int64_t c0) {
  const __m512 alpha = _mm512_set1_ps(e.alpha);
  const bool scale = e.alpha != 1.0f;
  for (std::int64_t r = 0; r < rows; ++r) {
    float* x = buf + r * ldc;
    const __m512 row_bias = _mm512_set1_ps(e.bias_rows ? e.bias_rows[r0 + r] : -0.0f);  // -0: x + -0 = x
    for (std::int64_t j = 0; j < cols; j += 16) {  // whole vectors: the buffers are padded
      const __m512 b = e.bias_cols ? _mm512_loadu_ps(e.bias_cols + c0 + j) : row_bias;
      const __m512 v = _mm512_loadu_ps(x + j);
      _mm512_storeu_ps(x + j, scale ? _mm512_fmadd_ps(alpha, v, b) : _mm512_add_ps(v, b));
    }
  }
}
}  // namespace isa_avx512
namespace isa_avx2 {
TESSEL_TARGET_AVX2 inline void apply_epilogue(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                                              const EpilogueBlock& e, std::int64_t r0, std::int64_t c0) {
  const __m256 alpha = _mm256_set1_ps(e.alpha);
  const bool scale = e.alpha != 1.0f;
  for (std::int64_t r = 0; r < rows; ++r) {
    float* x = buf + r * ldc;
    const __m256 row_bias = _mm256_set1_ps(e.bias_rows ? e.bias_rows[r0 + r] : -0.0f);
    for (std::int64_t j = 0; j < cols; j += 8) {
      const __m256 b = e.bias_cols ? _mm256_loadu_ps(e.bias_cols + c0 + j) : row_bias;
      const __m256 v = _mm256_loadu_ps(x + j);
      _mm256_storeu_ps(x + j, scale ? _mm256_fmadd_ps(alpha, v, b) : _mm256_add_ps(v, b));
    }
  }
}
}  // namespace isa_avx2
#endif
namespace isa_scalar {
inline void apply_epilogue(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const EpilogueBlock& e,
                           std::int64_t r0, std::int64_t c0) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* x = buf + r * ldc;
    for (std::int64_t j = 0; j < cols; ++j) {
      const float b = e.bias_cols ? e.bias_cols[c0 + j] : e.bias_rows ? e.bias_rows[r0 + r] : -0.0f;
      x[j] = e.alpha == 1.0f ? x[j] + b : std::fma(e.alpha, x[j], b);
    }
  }
}
}  // namespace isa_scalar

// buf[r·ldc + j] = α·buf[r·ldc + j] + bias for the rows × cols at row r0, column c0 of the
// unit (buf and the bias columns are readable and writable up to whole vectors past cols).
template <Isa I>
inline void apply_epilogue(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const EpilogueBlock& e,
                           std::int64_t r0, std::int64_t c0) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512) return isa_avx512::apply_epilogue(buf, ldc, rows, cols, e, r0, c0);
  else if constexpr (I == Isa::avx2) return isa_avx2::apply_epilogue(buf, ldc, rows, cols, e, r0, c0);
  else
#endif
    isa_scalar::apply_epilogue(buf, ldc, rows, cols, e, r0, c0);
}

// ---- fp32 to C ---------------------------------------------------------------------------------

// dst[i] = T(src[i] (+ β·dst[i])) for n elements, with the ISA's vector conversion.
template <Isa I, class T>
inline void store_run(const float* src, T* dst, std::int64_t n, float beta, bool stream) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512) return isa_avx512::from_float(src, dst, n, beta, stream);
  else if constexpr (I == Isa::avx2) return isa_avx2::from_float(src, dst, n, beta, stream);
  else
#endif
    isa_scalar::from_float(src, dst, n, beta, stream);
}

#if defined(TESSEL_HAVE_X86_TARGETS)
namespace isa_avx512 {
// One row of at most 32 results: 16-wide vectors, masked at the end; non-temporal stores
// for whole aligned vectors when streaming.
template <class T>
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void store_row32(const float* src, T* dst, int n, float beta, bool stream) {
  constexpr std::uintptr_t vec_bytes = 16 * sizeof(T);
  for (int j = 0; j < n; j += 16) {
    const auto m = static_cast<__mmask16>(n - j >= 16 ? 0xffff : (1u << (n - j)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(m, src + j);
    if (beta != 0.0f) v = add_scaled(v, load16(dst + j, m), beta);
    const bool nt = stream && m == 0xffff && reinterpret_cast<std::uintptr_t>(dst + j) % vec_bytes == 0;
    store16(dst + j, v, m, nt);
  }
}
// A micro-tile (rows × n <= 32) of the fp32 buffer to C's rows (unit column stride).
template <class T>
TESSEL_TARGET_AVX512 void store_tile(const float* buf, std::int64_t ldc, std::int64_t rows, int n, T* base,
                                     const Axis& row_axis, std::int64_t i0, std::int64_t j0, float beta, bool stream) {
  for (std::int64_t r = 0; r < rows; ++r)
    store_row32(buf + r * ldc, base + row_axis.offset(i0 + r) + j0, n, beta, stream);
}
}  // namespace isa_avx512
#endif

// Writes the fp32 block buffer (mc×nc, leading dimension ldc) to C[i0 :, j0 :] of batch g,
// converting to T with one rounding (after adding β·C's old value when β != 0).
template <Isa I, class T>
void store_block(const float* buf, std::int64_t ldc, std::int64_t mc, std::int64_t nc, const Operand<T>& c,
                 std::int64_t g, std::int64_t i0, std::int64_t j0, float beta, bool stream) {
  T* base = c.matrix(g);
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512) {
    if (nc <= 32 && c.cols.is_unit()) {  // a micro-tile
      isa_avx512::store_tile(buf, ldc, mc, static_cast<int>(nc), base, c.rows, i0, j0, beta, stream);
      return;
    }
  }
#endif
  for (std::int64_t r = 0; r < mc; ++r) {
    T* row = base + c.rows.offset(i0 + r);
    const float* src = buf + r * ldc;
    if (c.cols.is_unit()) {
      store_run<I>(src, row + j0, nc, beta, stream);
    } else {
      // Run by run along C's columns (a run of one element: a single conversion).
      std::int64_t j = 0;
      for_each_run(c.cols, j0, nc, [&](std::int64_t off, std::int64_t len) {
        store_run<I>(src + j, row + off, len, beta, stream && len > 1);
        j += len;
      });
    }
  }
}

// ---- tiles written while the next one computes ------------------------------------------------

// Finished results on their way to C, for kernels that write them while computing the next
// tile (Kernel::run_store): nv 16-value vectors per row, row r < rows taking src[r*ld + 16q]
// to dst[r][16q], q < nv, converted to T, only the lanes in `head` for the first vector and
// in `tail` for the last (masked lanes are neither read nor written); whole vectors go out
// non-temporally when stream (then every dst[r] is aligned for it). nv == 0: nothing pending.
// (The epilogue has been applied to src already; β is 0 on this path.)
template <class T, int MR>
struct PendingTile {
  const float* src = nullptr;
  std::int64_t ld = 0;
  T* dst[MR] = {};
  int rows = 0, nv = 0;
  unsigned head = 0xffff, tail = 0xffff;
  bool stream = false;
};

#if defined(TESSEL_HAVE_X86_TARGETS)
namespace isa_avx512 {
// Vector q of row r of a pending tile: fp32 from the driver's buffer, converted to T with
// store16's rounding (round to nearest even, NaN made quiet), masked by head and tail.
template <class T, int MR>
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void store_pending(const PendingTile<T, MR>& pt, int r, int q) {
  const auto m = static_cast<__mmask16>((q == 0 ? pt.head : 0xffff) & (q == pt.nv - 1 ? pt.tail : 0xffff));
  const __m512 v = _mm512_maskz_loadu_ps(m, pt.src + r * pt.ld + 16 * q);
  store16(pt.dst[r] + 16 * q, v, m, pt.stream);
}
// Writes all of a pending tile now.
template <class T, int MR>
TESSEL_TARGET_AVX512 void flush_pending(const PendingTile<T, MR>& pt) {
  for (int r = 0; r < (pt.nv > 0 ? pt.rows : 0); ++r)
    for (int q = 0; q < pt.nv; ++q) store_pending(pt, r, q);
}
}  // namespace isa_avx512
#endif

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END
