// tessel/gemm/pack.hpp — packing: where strides, index lists and dtypes are absorbed.
//
// The micro-kernel only ever sees two dense fp32 panel formats:
//   A block (mc×kc) as row panels of MR rows:     panel[p*MR + i] = A[i0 + i, p0 + p]
//   B block (kc×nc) as column panels of NR cols:  panel[p*NR + j] = B[p0 + p, j0 + j]
// zero-padded to whole MR / NR. Packing reads the operands through their Axis descriptions
// (any strides, several dimensions, index lists), converts float16/bfloat16 to fp32 with
// the ISA's vector conversion, and so replaces every "gather, transpose, upcast" temporary a
// naive implementation would make.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/dtype.hpp"
#include "../simd/convert.hpp"
#include "../simd/prefetch.hpp"
#include "blocking.hpp"
#include "pack_portable.hpp"
#include "problem.hpp"
#include "../simd/target.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// Converts n elements of src (unit stride) to float with the path's vector code.
template <Isa I, class T>
inline void load_run(const T* src, float* dst, std::int64_t n) {
  IsaConvert<I>::to_float(src, dst, n);
}

// Whether the portable path's vector packs (pack_portable.hpp) pack for path I with panels
// `width` lanes wide.
template <Isa I>
constexpr bool portable_packs(int width) {
  return I == Isa::scalar && width % 4 == 0;
}

// panel[p·width + r] = float(line_r[p]) for p < kc, r < width, where line_r =
// base + lines.offset(first + r) + p0 is contiguous along p (width a multiple of 4): the
// portable path's panel of a row-major A (lines: its rows) or a transposed B (its columns),
// four lines at a time.
template <int width, class T>
void interleave_panel(const T* base, const Axis& lines, std::int64_t first, std::int64_t p0, std::int64_t kc,
                      float* panel) {
  for (int r = 0; r < width; r += 4) {
    const T* group[4];
    for (int x = 0; x < 4; ++x) group[x] = base + lines.offset(first + r + x) + p0;
    isa_portable::interleave4(group, kc, panel + r, width);
  }
}

#if defined(TESSEL_HAVE_X86_TARGETS)
namespace isa_avx512 {

// In-register transpose of a 16×16 fp32 block: on return r[j][i] is the old r[i][j].
// Unpack pairs, then 2×2 blocks of pairs with shuffle_ps, then 128-bit lanes twice.
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE void transpose16x16(__m512 (&r)[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xee);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
      t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xdd);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
  }
}

// out[p*ld + r] = float(line[r][p])  for p < kc, r < lanes (lines r >= nlines read as 0):
// up to 16 lines contiguous along p, interleaved 16 at a time through in-register
// transposes. This is the A-panel pack of row-major A (and the B-panel pack of a
// transposed B), where a scalar loop would touch every element twice.
template <class T>
TESSEL_TARGET_AVX512 void interleave_lines(const T* const* line, int nlines, std::int64_t kc, float* out,
                                           std::int64_t ld, int lanes) {
  const auto store_mask = static_cast<__mmask16>((1u << lanes) - 1);
  __m512 r[16];
  std::int64_t p = 0;
  for (; p < kc; p += 16) {
    const std::int64_t left = kc - p;
    const auto m = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = i < nlines ? load16(line[i] + p, m) : _mm512_setzero_ps();
    transpose16x16(r);
    const int cnt = left >= 16 ? 16 : static_cast<int>(left);
    float* o = out + p * ld;
    if (cnt == 16) {
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) _mm512_mask_storeu_ps(o + j * ld, store_mask, r[j]);
    } else {
      for (int j = 0; j < cnt; ++j) _mm512_mask_storeu_ps(o + j * ld, store_mask, r[j]);
    }
  }
}

// Packs n values along lines into W-wide panels (W <= 32) of depth block_kc (>= kc; panels
// block_kc·W floats apart, so that a piece of a block's lines can be packed into its place):
//   out[(j / W)·W·block_kc + p·W + j % W] = float(line_p[j])   p < kc, j < n (zeros up to whole W)
// where line_p = base + axis.offset(p0 + p) holds n contiguous values: the A-panel pack of a
// transposed A (lines along m) and the B-panel pack of a row-major B (lines along n). The
// lines are usually far apart, and often a power of two apart (rows of a [tokens, heads·e]
// tensor), so their first W values all fall in one cache set: walking them panel by panel
// would evict each line before the next panel came back for the rest of it. So each line is
// read once, start to end, into every panel (p outer), and prefetched a few lines ahead
// (no hardware prefetcher follows such jumps).
template <int W, class T>
TESSEL_TARGET_AVX512 void pack_lines(const T* base, const Axis& axis, std::int64_t p0, std::int64_t kc, std::int64_t n,
                                     float* out, std::int64_t block_kc) {
  static_assert(W <= 32);
  constexpr int kAhead = 8;
  constexpr auto s0 = static_cast<__mmask16>(W >= 16 ? 0xffff : (1u << W) - 1);
  constexpr auto s1 = static_cast<__mmask16>(W >= 32 ? 0xffff : W > 16 ? (1u << (W - 16)) - 1 : 0);
  const std::int64_t panels = (n + W - 1) / W;
  const std::int64_t line_bytes = n * static_cast<std::int64_t>(sizeof(T));
  auto fetch = [&](std::int64_t p) { prefetch_bytes(base + axis.offset(p0 + p), line_bytes); };
  for (std::int64_t p = 0; p < std::min<std::int64_t>(kAhead, kc); ++p) fetch(p);
  for (std::int64_t p = 0; p < kc; ++p) {
    if (p + kAhead < kc) fetch(p + kAhead);
    const T* line = base + axis.offset(p0 + p);
    float* o = out + p * W;
    for (std::int64_t q = 0; q < panels; ++q, o += W * block_kc, line += W) {
      const std::int64_t left = n - q * W;
      const auto m0 = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
      _mm512_mask_storeu_ps(o, s0, load16(line, m0));
      if constexpr (W > 16) {
        const auto m1 = static_cast<__mmask16>(left >= 32 ? 0xffff : left > 16 ? (1u << (left - 16)) - 1 : 0);
        _mm512_mask_storeu_ps(o + 16, s1, load16(line + 16, m1));
      }
    }
  }
}

}  // namespace isa_avx512
#endif

// Starts fetching A[i0 : i0+rows, p0 : p0+kc] into the cache (rows contiguous along k only).
// Rows of A are often far apart (a head's column block of A1: one row per page) and the
// hardware prefetchers do not follow such jumps; fetched while the previous panel computes,
// the next panel's pack finds its rows in L1, or in L2 when to_l2. (Rows a power of two
// apart, as dO's in dA = dO·W2ᵀ, fall in the same L1 sets: a panel of such rows larger
// than a small part of L1 evicts itself, and the packed panels in use, before the pack
// reads it; into L2 it does not.)
template <class T>
inline void prefetch_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t rows, std::int64_t p0,
                       std::int64_t kc, bool to_l2) {
  if (!a.cols.is_unit()) return;
  const T* base = a.matrix(g);
  const std::int64_t bytes = kc * static_cast<std::int64_t>(sizeof(T));
  for (std::int64_t r = 0; r < rows; ++r) prefetch_bytes(base + a.rows.offset(i0 + r) + p0, bytes, to_l2);
}

// Zeroes rows [rows, MR) of an MR-row panel of depth kc (and columns [cols, NR) of an NR-column one).
template <int MR>
inline void zero_rows(float* panel, int rows, std::int64_t kc) {
  if (rows < MR)
    for (std::int64_t p = 0; p < kc; ++p)
      for (int r = rows; r < MR; ++r) panel[p * MR + r] = 0.0f;
}
template <int NR>
inline void zero_cols(float* panel, int cols, std::int64_t kc) {
  if (cols < NR)
    for (std::int64_t p = 0; p < kc; ++p)
      for (int j = cols; j < NR; ++j) panel[p * NR + j] = 0.0f;
}

// dst[q] = float(base[axis.offset(first + q)]) for q < n, each run of consecutive elements
// converted with the ISA's vector code.
template <Isa I, class T>
inline void load_line(const T* base, const Axis& axis, std::int64_t first, std::int64_t n, float* dst) {
  std::int64_t q = 0;
  for_each_run(axis, first, n, [&](std::int64_t off, std::int64_t len) {
    if (len == 1) dst[q] = static_cast<float>(base[off]);
    else load_run<I>(base + off, dst + q, len);
    q += len;
  });
}

// out[q] = axis.offset(first + q) for q < n (walking the axis, no division per index).
inline void axis_offsets(const Axis& axis, std::int64_t first, std::int64_t n, std::int64_t* out) {
  std::int64_t q = 0;
  for_each_run(axis, first, n, [&](std::int64_t off, std::int64_t len) {
    for (std::int64_t x = 0; x < len; ++x) out[q++] = off + x;
  });
}

// The portable path's MR-row panel (rows i .. i + MR) of an A whose rows are made of runs
// along k: each row converted run by run into a staging line, four lines interleaved at a time.
template <Isa I, int MR, class T>
void interleave_walked_rows(const Operand<const T>& a, const T* base, std::int64_t i, std::int64_t p0, std::int64_t kc,
                            float* panel) {
  alignas(64) float staged[4][kMaxKc];
  const float* const lines[4] = {staged[0], staged[1], staged[2], staged[3]};
  for (int r = 0; r < MR; r += 4) {
    for (int x = 0; x < 4; ++x) load_line<I>(base + a.rows.offset(i + r + x), a.cols, p0, kc, staged[x]);
    isa_portable::interleave4(lines, kc, panel + r, MR);
  }
}

// pack_a for an A with no unit-stride axis (several dimensions, index lists, strides): each
// line along the axis that has runs of consecutive elements is converted run by run (copies
// of runs, so a k group whose inner dimension is contiguous packs nearly as fast as a plain
// row); without runs, element by element through an offset table built once per block.
template <Isa I, int MR, class T>
void pack_a_walking(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                    std::int64_t kc, float* out) {
  const T* base = a.matrix(g);
  const bool runs_along_k = a.cols.unit_run() > 1, runs_along_m = !runs_along_k && a.rows.unit_run() > 1;
  alignas(64) std::int64_t koff[kMaxKc];
  if (!runs_along_k) axis_offsets(a.cols, p0, kc, koff);
  alignas(64) float row[kMaxKc];
  for (std::int64_t ip = 0; ip < mc; ip += MR) {
    float* panel = out + ip * kc;
    const int rows = static_cast<int>(std::min<std::int64_t>(MR, mc - ip));
    if (runs_along_k) {
      if constexpr (portable_packs<I>(MR)) {
        if (rows == MR) {
          interleave_walked_rows<I, MR>(a, base, i0 + ip, p0, kc, panel);
          continue;
        }
      }
      for (int r = 0; r < rows; ++r) {
        load_line<I>(base + a.rows.offset(i0 + ip + r), a.cols, p0, kc, row);
        for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + r] = row[p];
      }
    } else if (runs_along_m) {
      for (std::int64_t p = 0; p < kc; ++p) load_line<I>(base + koff[p], a.rows, i0 + ip, rows, panel + p * MR);
    } else {
      std::int64_t roff[MR];
      axis_offsets(a.rows, i0 + ip, rows, roff);
      for (std::int64_t p = 0; p < kc; ++p)
        for (int r = 0; r < rows; ++r) panel[p * MR + r] = static_cast<float>(base[roff[r] + koff[p]]);
    }
    zero_rows<MR>(panel, rows, kc);
  }
}

// pack_b for a B with no unit-stride axis: B's NR-column panels are the NR-row panels of Bᵀ
// (panel[p·NR + j] = B[p0 + p, j0 + j] = Bᵀ[j0 + j, p0 + p]).
template <Isa I, int NR, class T>
void pack_b_walking(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                    std::int64_t nc, float* out) {
  pack_a_walking<I, NR>(transposed(b), g, j0, nc, p0, kc, out);
}

// Packs A[i0 : i0+mc, p0 : p0+kc] of batch g into MR-row panels.
template <Isa I, int MR, class T>
void pack_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t mc, std::int64_t p0,
            std::int64_t kc, float* out) {
  const T* base = a.matrix(g);
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512 && MR <= 32) {
    if (a.rows.is_unit() && !a.cols.is_unit()) {
      // A transposed A (or A3ᵀ gathered along k): lines along m, all panels at once.
      isa_avx512::pack_lines<MR>(base + i0, a.cols, p0, kc, mc, out, kc);
      return;
    }
  }
#endif
  if constexpr (portable_packs<I>(MR)) {
    if (a.rows.is_unit() && !a.cols.is_unit()) return isa_portable::pack_lines<MR>(base + i0, a.cols, p0, kc, mc, out);
  }
  if (!a.cols.is_unit() && !a.rows.is_unit()) return pack_a_walking<I, MR>(a, g, i0, mc, p0, kc, out);
  alignas(64) float row[kMaxKc];
  for (std::int64_t ip = 0; ip < mc; ip += MR) {
    float* panel = out + ip * kc;
    const int rows = static_cast<int>(std::min<std::int64_t>(MR, mc - ip));
    if (a.cols.is_unit()) {
      // Rows are contiguous along k (the usual A1 layout): convert a row, then interleave.
#if defined(TESSEL_HAVE_X86_TARGETS)
      if constexpr (I == Isa::avx512 && MR <= 16) {
        const T* line[16];
        for (int r = 0; r < rows; ++r) line[r] = base + a.rows.offset(i0 + ip + r) + p0;
        isa_avx512::interleave_lines(line, rows, kc, panel, MR, MR);
        continue;  // zero rows are written by the interleave
      }
#endif
      if constexpr (portable_packs<I>(MR)) {
        if (rows == MR) {
          interleave_panel<MR>(base, a.rows, i0 + ip, p0, kc, panel);
          continue;
        }
      }
      for (int r = 0; r < rows; ++r) {
        load_run<I>(base + a.rows.offset(i0 + ip + r) + p0, row, kc);
        for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + r] = row[p];
      }
    } else {
      // Columns are contiguous along m (a transposed A, or A3ᵀ gathered along k).
      const T* col0 = base + i0 + ip;
      for (std::int64_t p = 0; p < kc; ++p) load_run<I>(col0 + a.cols.offset(p0 + p), panel + p * MR, rows);
    }
    zero_rows<MR>(panel, rows, kc);
  }
}

// Rows [r0, r1) of the B block pack_b(b, g, p0, kc, j0, nc, out) packs, for a B whose rows
// are contiguous along n (b.cols.is_unit()), written where pack_b writes them and nothing
// else: the driver packs a unit's next k block this way between the tiles of the current
// one (driver.hpp: GemmCall::macro_kernel), and pack_b such a block as one piece. Each row
// is read once, into every panel (pack_lines on AVX-512).
template <Isa I, int NR, class T>
void pack_b_piece(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc, std::int64_t r0,
                  std::int64_t r1, std::int64_t j0, std::int64_t nc, float* out) {
  const T* base = b.matrix(g) + j0;
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512 && NR <= 32) {
    isa_avx512::pack_lines<NR>(base, b.rows, p0 + r0, r1 - r0, nc, out + r0 * NR, kc);
    return;
  }
#endif
  for (std::int64_t jp = 0; jp < nc; jp += NR) {
    float* panel = out + jp * kc;
    const int cols = static_cast<int>(std::min<std::int64_t>(NR, nc - jp));
    for (std::int64_t p = r0; p < r1; ++p) {
      load_run<I>(base + jp + b.rows.offset(p0 + p), panel + p * NR, cols);
      for (int j = cols; j < NR; ++j) panel[p * NR + j] = 0.0f;
    }
  }
}

// Packs B[p0 : p0+kc, j0 : j0+nc] of batch g into NR-column panels.
template <Isa I, int NR, class T>
void pack_b(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc, std::int64_t j0,
            std::int64_t nc, float* out) {
  const T* base = b.matrix(g);
  if constexpr (portable_packs<I>(NR)) {
    if (b.cols.is_unit()) return isa_portable::pack_lines<NR>(base + j0, b.rows, p0, kc, nc, out);
  }
  // Rows of B contiguous along n (W1, dO3): the whole block as one piece.
  if (b.cols.is_unit()) return pack_b_piece<I, NR>(b, g, p0, kc, 0, kc, j0, nc, out);
  if (!b.rows.is_unit()) return pack_b_walking<I, NR>(b, g, p0, kc, j0, nc, out);
  alignas(64) float col[kMaxKc];
  for (std::int64_t jp = 0; jp < nc; jp += NR) {
    float* panel = out + jp * kc;
    const int cols = static_cast<int>(std::min<std::int64_t>(NR, nc - jp));
    // A transposed B: columns contiguous along k.
#if defined(TESSEL_HAVE_X86_TARGETS)
    if constexpr (I == Isa::avx512 && NR % 16 == 0) {
      // Interleaved 16 columns at a time.
      for (int jg = 0; jg < NR; jg += 16) {
        const T* line[16];
        const int nl = std::clamp(cols - jg, 0, 16);
        for (int j = 0; j < nl; ++j) line[j] = base + b.cols.offset(j0 + jp + jg + j) + p0;
        isa_avx512::interleave_lines(line, nl, kc, panel + jg, NR, 16);
      }
      continue;
    }
#endif
    if constexpr (portable_packs<I>(NR)) {
      if (cols == NR) {
        interleave_panel<NR>(base, b.cols, j0 + jp, p0, kc, panel);
        continue;
      }
    }
    for (int j = 0; j < cols; ++j) {
      load_run<I>(base + b.cols.offset(j0 + jp + j) + p0, col, kc);
      for (std::int64_t p = 0; p < kc; ++p) panel[p * NR + j] = col[p];
    }
    zero_cols<NR>(panel, cols, kc);
  }
}

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END
