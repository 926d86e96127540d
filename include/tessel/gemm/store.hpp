// tessel/gemm/store.hpp — the store: the fp32 block of A·B on its way to C (DESIGN's "store"
// box): the epilogue (α, bias, β·C, gemm/problem.hpp), the one rounding to the output type,
// masked edges, non-temporal stores.
//
// Every path that writes C goes through this file:
//   prepare_epilogue   once per work unit: the unit's slice of the bias, converted to fp32
//   apply_epilogue     v = α·acc + bias on the fp32 block, in place, right after the kernel
//                      wrote a tile (while it is in L1); nothing when there is neither
//   store_rows         fp32 rows (a tile, a strip) to C: + β·C, one rounding, streaming
//   OutputTile, finish_row, store_register_tile
//                      a kernel's finished tile from its registers to C (run_output), with
//                      the earlier k blocks' sums and the epilogue added in the registers
// So a bias costs an add per vector in registers (run_output) or one pass over tiles in L1,
// keeps streaming stores (it never reads C), and a call without one runs exactly
// the code it ran before it existed.
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
// α·v + b on one vector, one rounding either way: the arithmetic apply_epilogue and
// finish_row (a tile in registers) share, so both give the same bits.
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE __m512 scale_and_bias(__m512 v, __m512 b, float alpha) {
  return alpha != 1.0f ? _mm512_fmadd_ps(_mm512_set1_ps(alpha), v, b) : _mm512_add_ps(v, b);
}

TESSEL_TARGET_AVX512 inline void apply_epilogue(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                                                const EpilogueBlock& e, std::int64_t r0, std::int64_t c0) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* x = buf + r * ldc;
    const __m512 row_bias = _mm512_set1_ps(e.bias_rows ? e.bias_rows[r0 + r] : -0.0f);  // -0: x + -0 = x
    for (std::int64_t j = 0; j < cols; j += 16) {  // whole vectors: the buffers are padded
      const __m512 b = e.bias_cols ? _mm512_loadu_ps(e.bias_cols + c0 + j) : row_bias;
      _mm512_storeu_ps(x + j, scale_and_bias(_mm512_loadu_ps(x + j), b, e.alpha));
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
// unit (buf and the bias columns are readable and writable up to whole vectors past cols):
// the portable loop, unless a path has its own (a specialization below).
template <Isa I>
struct IsaEpilogue {
  static void apply(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const EpilogueBlock& e,
                    std::int64_t r0, std::int64_t c0) {
    isa_scalar::apply_epilogue(buf, ldc, rows, cols, e, r0, c0);
  }
};
#if defined(TESSEL_HAVE_X86_TARGETS)
template <>
struct IsaEpilogue<Isa::avx2> {
  static void apply(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const EpilogueBlock& e,
                    std::int64_t r0, std::int64_t c0) {
    isa_avx2::apply_epilogue(buf, ldc, rows, cols, e, r0, c0);
  }
};
template <>
struct IsaEpilogue<Isa::avx512> {
  static void apply(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const EpilogueBlock& e,
                    std::int64_t r0, std::int64_t c0) {
    isa_avx512::apply_epilogue(buf, ldc, rows, cols, e, r0, c0);
  }
};
#endif
template <Isa I>
inline void apply_epilogue(float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, const EpilogueBlock& e,
                           std::int64_t r0, std::int64_t c0) {
  IsaEpilogue<I>::apply(buf, ldc, rows, cols, e, r0, c0);
}

// ---- fp32 to C ---------------------------------------------------------------------------------

// dst[i] = T(src[i] (+ β·dst[i])) for n elements, with the path's vector conversion.
template <Isa I, class T>
inline void store_run(const float* src, T* dst, std::int64_t n, float beta, bool stream) {
  IsaConvert<I>::from_float(src, dst, n, beta, stream);
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
}  // namespace isa_avx512

namespace isa_avx512_bf16 {
// A micro-tile of rows × 32 bfloat16 results (β = 0) with vcvtne2ps2bf16, row by row (a row
// holding an fp32 denormal goes through round_to_bf16: convert.hpp's from_float32s);
// streaming where a row is 64-byte aligned.
TESSEL_TARGET_AVX512_BF16 inline void store_tile32(const float* buf, std::int64_t ldc, std::int64_t rows,
                                                   bfloat16* const* row, std::int64_t j0, bool stream) {
  for (std::int64_t r = 0; r < rows; ++r) {
    bfloat16* dst = row[r] + j0;
    from_float32s(buf + r * ldc, dst, 32, stream && reinterpret_cast<std::uintptr_t>(dst) % 64 == 0);
  }
}
}  // namespace isa_avx512_bf16

namespace isa_avx512 {
// A micro-tile (rows × n <= 32) of the fp32 buffer to C's rows at row[r] + j0.
template <class T>
TESSEL_TARGET_AVX512 void store_tile(const float* buf, std::int64_t ldc, std::int64_t rows, int n, T* const* row,
                                     std::int64_t j0, float beta, bool stream) {
  if constexpr (dtype_of<T> == DType::bfloat16) {
    if (n == 32 && beta == 0.0f && isa_avx512_bf16::converts_bf16())
      return isa_avx512_bf16::store_tile32(buf, ldc, rows, row, j0, stream);
  }
  for (std::int64_t r = 0; r < rows; ++r) store_row32(buf + r * ldc, row[r] + j0, n, beta, stream);
}
}  // namespace isa_avx512
#endif

namespace isa_portable {
// A micro-tile (rows × cols, cols <= 32 and a whole number of vectors) of the fp32 buffer to
// C's rows at row[r] + j0, for float and bfloat16 with β of 0 or 1 (false: not done, the
// caller stores it): the portable path stores one after every kernel call when k fits one
// block, and a conversion call per row would cost as much as the row. (No streaming stores:
// the portable path has none.)
template <class T>
TESSEL_ALWAYS_INLINE bool store_tile(const float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols,
                                     T* const* row, std::int64_t j0, float beta) {
  if constexpr (dtype_of<T> == DType::float16) {
    return false;
  } else {
    if (cols > 32 || cols % vec::kLanes != 0 || (beta != 0.0f && beta != 1.0f)) return false;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* src = buf + r * ldc;
      T* dst = row[r] + j0;
      for (std::int64_t j = 0; j < cols; j += vec::kLanes) {
        vec::vfloat v = load(src + j);
        if (beta != 0.0f) v += load(dst + j);
        store(dst + j, v);
      }
    }
    return true;
  }
}
}  // namespace isa_portable

// Writes rows × cols of the fp32 buffer (leading dimension ldc) to C: row r of the buffer
// to the row at row[r], columns j0 .. j0 + cols of C's column axis, converting to TC with one
// rounding (after adding β·C's old value when β != 0).
template <Isa I, class TC>
void store_rows(const float* buf, std::int64_t ldc, std::int64_t rows, std::int64_t cols, TC* const* row,
                const Axis& c_cols, std::int64_t j0, float beta, bool stream) {
  if (c_cols.is_unit()) {
    if constexpr (I == Isa::scalar) {
      if (isa_portable::store_tile(buf, ldc, rows, cols, row, j0, beta)) return;
    }
#if defined(TESSEL_HAVE_X86_TARGETS)
    if constexpr (I == Isa::avx512) {
      if (cols <= 32) {  // a micro-tile
        isa_avx512::store_tile(buf, ldc, rows, static_cast<int>(cols), row, j0, beta, stream);
        return;
      }
    }
#endif
    for (std::int64_t r = 0; r < rows; ++r) store_run<I>(buf + r * ldc, row[r] + j0, cols, beta, stream);
    return;
  }
  // Run by run along C's columns (a run of one element: a single conversion).
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* src = buf + r * ldc;
    std::int64_t j = 0;
    for_each_run(c_cols, j0, cols, [&](std::int64_t off, std::int64_t len) {
      store_run<I>(src + j, row[r] + off, len, beta, stream && len > 1);
      j += len;
    });
  }
}

// ---- register tiles straight to C ------------------------------------------------------------

// Where a kernel's run_output writes a whole MR×32 tile: C's rows (at column 0, C's columns
// unit-stride) from column j0 on, non-temporally where `stream` and a row's address allow;
// and what comes between the kernel's sums and the one rounding, in the order the fp32
// block's path applies it (write_tile's accumulation, then apply_epilogue): the earlier k
// blocks' fp32 sums partial[i·ldp + j] (null: none; 64-byte aligned rows), then α·v + bias,
// the bias by column (the tile's 32 columns) or by row (its MR rows).
template <class T, int MR>
struct OutputTile {
  T* const* row = nullptr;
  std::int64_t j0 = 0;
  bool stream = false;
  const float* partial = nullptr;
  std::int64_t ldp = 0;
  float alpha = 1.0f;
  const float* bias_cols = nullptr;
  const float* bias_rows = nullptr;
  bool epilogue = false;  // whether α and the bias change anything

  // Whether the output is the kernel's sums as they are (nothing added or scaled).
  bool sums_only() const { return partial == nullptr && !epilogue; }
};

#if defined(TESSEL_HAVE_X86_TARGETS)
namespace isa_avx512 {
// 64 bytes to p: non-temporally when stream and p is 64-byte aligned.
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void store64(void* p, __m512i v, bool stream) {
  if (stream && reinterpret_cast<std::uintptr_t>(p) % 64 == 0) _mm512_stream_si512(static_cast<__m512i*>(p), v);
  else _mm512_storeu_si512(p, v);
}
// Row i of a register tile (v0, v1: its two vectors) with what `out` adds before the
// rounding: write_tile's accumulation, then apply_epilogue's scale_and_bias (so the bits are
// the fp32 block's).
template <class T, int MR>
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void finish_row(const OutputTile<T, MR>& out, int i, __m512& v0,
                                                          __m512& v1) {
  if (out.partial != nullptr) {
    const float* const p = out.partial + i * out.ldp;
    v0 = _mm512_add_ps(_mm512_load_ps(p), v0);
    v1 = _mm512_add_ps(_mm512_load_ps(p + 16), v1);
  }
  if (!out.epilogue) return;
  __m512 b0, b1;
  if (out.bias_cols != nullptr) {
    b0 = _mm512_loadu_ps(out.bias_cols), b1 = _mm512_loadu_ps(out.bias_cols + 16);
  } else {
    b0 = b1 = _mm512_set1_ps(out.bias_rows != nullptr ? out.bias_rows[i] : -0.0f);  // -0: v + -0 = v
  }
  v0 = scale_and_bias(v0, b0, out.alpha), v1 = scale_and_bias(v1, b1, out.alpha);
}

// An MR×32 fp32 tile in registers to float or float16 outputs, rounded as store16 rounds.
template <class T, int MR>
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void store_register_tile(const OutputTile<T, MR>& out,
                                                                   const __m512 (&c)[MR][2]) {
  const bool sums_only = out.sums_only();
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    T* const p = out.row[i] + out.j0;
    __m512 v0 = c[i][0], v1 = c[i][1];
    if (!sums_only) finish_row(out, i, v0, v1);
    if constexpr (std::is_same_v<T, float>) {
      store64(p, _mm512_castps_si512(v0), out.stream);
      store64(p + 16, _mm512_castps_si512(v1), out.stream);
    } else {
      static_assert(dtype_of<T> == DType::float16);
      constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
      const __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtps_ph(v0, kRound)),
                                           _mm512_cvtps_ph(v1, kRound), 1);
      store64(p, h, out.stream);
    }
  }
}
}  // namespace isa_avx512
namespace isa_avx512_bf16 {
// An MR×32 fp32 tile in registers to bfloat16 outputs with vcvtne2ps2bf16, which rounds as
// round_to_bf16 does for every value but an fp32 denormal. The kernel's sums hold none (the
// vdpbf16ps kernel's instruction flushes denormal results to zero), so they are converted
// unchecked; a row that `out` adds to or scales may hold one and is checked (store32), and
// then rounded by store16.
template <int MR>
TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE void store_register_tile_normal(const OutputTile<bfloat16, MR>& out,
                                                                               const __m512 (&c)[MR][2]) {
  const bool sums_only = out.sums_only();
#pragma GCC unroll 14
  for (int i = 0; i < MR; ++i) {
    bfloat16* const p = out.row[i] + out.j0;
    if (sums_only) {
      isa_avx512::store64(p, reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(c[i][1], c[i][0])), out.stream);
      continue;
    }
    __m512 v0 = c[i][0], v1 = c[i][1];
    isa_avx512::finish_row(out, i, v0, v1);
    if (store32(p, v0, v1, out.stream && reinterpret_cast<std::uintptr_t>(p) % 64 == 0)) continue;
    isa_avx512::store16(p, v0, 0xffff, false);
    isa_avx512::store16(p + 16, v1, 0xffff, false);
  }
}
}  // namespace isa_avx512_bf16
#endif

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END
