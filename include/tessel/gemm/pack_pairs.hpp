// tessel/gemm/pack_pairs.hpp — packing for the vdpbf16ps and AMX kernels: bfloat16 pairs along k.
//
// Panels (in the workspace's float buffers, one 32-bit word per k pair, so they use at most
// half of the space fp32 panels would; an odd kc pads its last pair with a zero high half):
//   A row panel:     word[(q/16)·16·MR + i·16 + q%16] = A[i, 2q] | A[i, 2q+1] << 16
//                    (bit patterns; kc >= 16: groups of 16 pairs of each row, the last group
//                    padded to 16 and unread; kc < 16: one group, word[i·P + q], P = ceil(kc/2))
//   B column panel:  word[q·NR + j] = B[2q, j] | B[2q+1, j] << 16
// The A panel's row-by-row groups of 16 pairs (64 bytes of each row) make packing rows
// contiguous along k a copy of 64-byte pieces (a plain transpose cost a good part of the
// kernel's time where an A panel serves few tiles), while the kernel still reads one pointer
// plus constant offsets: with plain rows (stride P) its MR row addresses needed more index
// registers than x86 has. (16-pair groups fit the MR·kc floats the driver gives a panel for
// any kc >= 16: ceil(P/16)·16 <= kc.)
//
// Like pack.hpp, packing reads any strides, index lists and axes of several dimensions.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/target.hpp"
#include "bf16_guard.hpp"
#include "blocking.hpp"
#include "pack.hpp"
#include "problem.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

namespace isa_avx512_bf16 {

// The 16×16 transpose of pack.hpp: bfloat16 pairs move as 32-bit words, just like floats.
using isa_avx512::transpose16x16;

// out[q*ld + r] = line[r][2q] | line[r][2q+1] << 16   for q < ceil(kc/2), r < lanes
// (lines r >= nlines, and the missing high half of an odd kc, read as 0): up to 16 lines of
// bfloat16 contiguous along k, whose pairs are 32-bit words, transposed 16 words at a time.
// The pack of A rows contiguous along k, and of a transposed B.
TESSEL_TARGET_AVX512 inline void interleave_pairs(const std::uint16_t* const* line, int nlines, std::int64_t kc,
                                                  std::uint32_t* out, std::int64_t ld, int lanes) {
  const auto store_mask = static_cast<__mmask16>((1u << lanes) - 1);
  __m512 r[16];
  for (std::int64_t e = 0; e < kc; e += 32) {  // e: element index, 32 elements = 16 words
    const std::int64_t left = kc - e;
    const auto m = static_cast<__mmask32>(left >= 32 ? 0xffffffffu : (1u << left) - 1);
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      r[i] = i < nlines ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, line[i] + e)) : _mm512_setzero_ps();
    transpose16x16(r);
    const int cnt = left >= 32 ? 16 : static_cast<int>((left + 1) / 2);
    float* o = reinterpret_cast<float*>(out + (e / 2) * ld);
    if (cnt == 16) {
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) _mm512_mask_storeu_ps(o + j * ld, store_mask, r[j]);
    } else {
      for (int j = 0; j < cnt; ++j) _mm512_mask_storeu_ps(o + j * ld, store_mask, r[j]);
    }
  }
}

// 16 words lo[j] | hi[j] << 16 from up to 16 bfloat16 of each of two runs (hi may be null:
// zero), reading only the lanes in m.
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE __m512i pair16(const std::uint16_t* lo, const std::uint16_t* hi, __mmask16 m) {
  const __m512i l = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo));
  if (!hi) return l;
  const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, hi));
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

}  // namespace isa_avx512_bf16

// The pair panels of an MR×NR kernel.
template <int MR, int NR>
struct PairPanels {
  static constexpr std::int64_t kGroup = 16;  // pairs per row per group of an A panel

  // Pairs per row in a group of the A panel for depth kc (the group's row stride in words).
  static constexpr std::int64_t a_group(std::int64_t kc) { return kc >= kGroup ? kGroup : (kc + 1) / 2; }

  // Packs A[i0 : i0+mc, p0 : p0+kc] of batch g into MR-row panels of k pairs (panel ip at
  // out + ip*kc floats, as the driver expects), each panel in the row-by-row groups of 16
  // pairs described above, so that rows contiguous along k are 64-byte copies.
  template <class T>
  TESSEL_TARGET_AVX512 static void pack_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t mc,
                                          std::int64_t p0, std::int64_t kc, float* out) {
    static_assert(std::is_same_v<T, bfloat16>, "the vdpbf16ps kernel packs bfloat16 only");
    const auto* base = reinterpret_cast<const std::uint16_t*>(a.matrix(g));
    const std::int64_t pairs = (kc + 1) / 2;
    const std::int64_t W = a_group(kc);
    // The word of row r, pair q (q0 a multiple of W: the start of a group).
    // (W is 16, or all the pairs when kc < 16: q / W is a shift or 0, never a division.)
    auto at = [&](std::uint32_t* panel, std::int64_t r, std::int64_t q) {
      const std::int64_t grp = W == kGroup ? q / kGroup : 0;
      return panel + grp * (W * MR) + r * W + (q - grp * W);
    };
    if (a.rows.is_unit() && !a.cols.is_unit()) return pack_a_k_major(base, a.cols, i0, mc, p0, kc, out);
    alignas(64) std::int64_t koff[kMaxKc];  // A's k offsets, when its columns are not unit-stride
    for (std::int64_t ip = 0; ip < mc; ip += MR) {
      auto* panel = reinterpret_cast<std::uint32_t*>(out + ip * kc);
      const int rows = static_cast<int>(std::min<std::int64_t>(MR, mc - ip));
      if (a.cols.is_unit()) {
        // Rows contiguous along k: a pair is a 32-bit word, a group's row a copy of 32
        // elements (an odd kc's last word gets a zero high half from the masked load).
        for (int r = 0; r < rows; ++r) {
          const std::uint16_t* src = base + a.rows.offset(i0 + ip + r) + p0;
          for (std::int64_t e = 0; e < kc; e += 32) {
            const std::int64_t left = kc - e;
            const auto ml = static_cast<__mmask32>(left >= 32 ? 0xffffffffu : (1u << left) - 1);
            const std::int64_t even = left >= 32 ? 32 : left + (left & 1);
            const auto ms = static_cast<__mmask32>(even >= 32 ? 0xffffffffu : (1u << even) - 1);
            _mm512_mask_storeu_epi16(at(panel, r, e / 2), ms, _mm512_maskz_loadu_epi16(ml, src + e));
          }
        }
      } else {
        if (ip == 0) axis_offsets(a.cols, p0, kc, koff);
        for (int r = 0; r < rows; ++r) {
          const std::int64_t ro = a.rows.offset(i0 + ip + r);
          for (std::int64_t q = 0; q < pairs; ++q) {
            const bool has_hi = 2 * q + 1 < kc;
            *at(panel, r, q) = std::uint32_t(base[ro + koff[2 * q]]) |
                               (has_hi ? std::uint32_t(base[ro + koff[2 * q + 1]]) << 16 : 0u);
          }
        }
      }
      for (int r = rows; r < MR; ++r)
        for (std::int64_t q0 = 0; q0 < pairs; q0 += W)
          std::memset(at(panel, r, q0), 0, static_cast<std::size_t>(std::min(W, pairs - q0)) * 4);
    }
  }

  // The guard on the packed panels (gemm/bf16_guard.hpp; the driver's checked mode): whether
  // the words just packed hold a tiny bfloat16 (bf16_bits_tiny). Checking the panels while
  // they are in L1 or L2 costs little next to their arithmetic; scanning A and B in memory
  // before the call costs a second pass over A from DRAM. Only the words packing wrote are
  // read, never stale padding, so the answer depends on the inputs alone. One MR-row A panel
  // of depth kc:
  TESSEL_TARGET_AVX512 static bool a_panel_rejects(const float* panel, std::int64_t kc) {
    const auto* w = reinterpret_cast<const std::uint16_t*>(panel);  // two halves per word
    const std::int64_t pairs = (kc + 1) / 2, W = a_group(kc);
    if (W < kGroup) return isa_avx512_bf16::run_has_tiny(w, 2 * MR * pairs);  // one group
    const std::int64_t full = pairs / kGroup * kGroup;  // pairs in whole groups: contiguous
    if (isa_avx512_bf16::run_has_tiny(w, 2 * MR * full)) return true;
    if (full == pairs) return false;
    const std::uint16_t* last = w + 2 * MR * full;  // the last group: pairs - full words per row
    for (int r = 0; r < MR; ++r)
      if (isa_avx512_bf16::run_has_tiny(last + 2 * kGroup * r, 2 * (pairs - full))) return true;
    return false;
  }
  // The B panels of an nc-column block of depth kc (panel jp at block + jp*kc floats, each
  // ceil(kc/2)·NR words, all written).
  TESSEL_TARGET_AVX512 static bool b_block_rejects(const float* block, std::int64_t nc, std::int64_t kc) {
    const std::int64_t words = (kc + 1) / 2 * NR;
    for (std::int64_t jp = 0; jp < nc; jp += NR)
      if (isa_avx512_bf16::run_has_tiny(reinterpret_cast<const std::uint16_t*>(block + jp * kc), 2 * words))
        return true;
    return false;
  }

  // A contiguous along m (a transposed A, or A3ᵀ gathered along k), rows [i0, i0+mc) of k
  // lines p0 .. p0+kc: for each 16 pairs (32 lines), every line is read once, start to end
  // of the block's rows, its pairs interleaved into a staging buffer (stage[u][i]: row i's
  // word for pair q0+u, 16 rows past the block zero), then each panel's 16 pairs are
  // transposed out of it into the panel's row groups. Rows are taken kRowChunk at a time to
  // bound the buffer. (Panel by panel, MR elements of each line per panel, lines a power of
  // two apart fall into one L1 set and every panel fetches them again.)
  TESSEL_TARGET_AVX512 static void pack_a_k_major(const std::uint16_t* base, const Axis& lines, std::int64_t i0,
                                                  std::int64_t mc, std::int64_t p0, std::int64_t kc, float* out) {
    // (A panel's rows are transposed out of the staging buffer 16 at a time: MR up to 16, or
    // whole multiples of 16, whose last 16-row read stays inside the staged rows.)
    static_assert(MR <= 16 || MR % 16 == 0, "pack_a_k_major: MR must be at most 16 or a multiple of 16");
    constexpr std::int64_t kRowChunk = 16 * MR;  // rows staged at a time: 16 panels
    constexpr std::int64_t kStride = kRowChunk + 16;
    alignas(64) std::uint32_t stage[16 * kStride];
    const std::int64_t pairs = (kc + 1) / 2;
    const std::int64_t W = a_group(kc);
    for (std::int64_t c0 = 0; c0 < mc; c0 += kRowChunk) {
      const std::int64_t rows = std::min(kRowChunk, mc - c0);
      const std::int64_t staged = round_up(rows, 16) + 16;  // whole vectors, plus a zero one
      for (std::int64_t q0 = 0; q0 < pairs; q0 += 16) {
        const int nq = static_cast<int>(std::min<std::int64_t>(16, pairs - q0));
        for (int u = 0; u < 16; ++u) {
          std::uint32_t* srow = stage + u * kStride;
          const std::int64_t q = q0 + u;
          if (u >= nq) {
            std::memset(srow, 0, static_cast<std::size_t>(staged) * 4);
            continue;
          }
          const std::uint16_t* lo = base + lines.offset(p0 + 2 * q) + i0 + c0;
          const std::uint16_t* hi = 2 * q + 1 < kc ? base + lines.offset(p0 + 2 * q + 1) + i0 + c0 : nullptr;
          for (std::int64_t i = 0; i < staged; i += 16) {
            const std::int64_t left = rows - i;
            const auto m = static_cast<__mmask16>(left >= 16 ? 0xffff : left > 0 ? (1u << left) - 1 : 0);
            _mm512_store_si512(srow + i, m ? isa_avx512_bf16::pair16(lo + i, hi ? hi + i : nullptr, m)
                                           : _mm512_setzero_si512());
          }
        }
        const auto ms = static_cast<__mmask16>(nq >= 16 ? 0xffff : (1u << nq) - 1);
        for (std::int64_t ip = 0; ip < rows; ip += MR) {
          auto* panel = reinterpret_cast<std::uint32_t*>(out + (c0 + ip) * kc);
          const std::int64_t grp = W == kGroup ? q0 / kGroup : 0;
          for (int r0 = 0; r0 < MR; r0 += 16) {  // 16 rows per transpose
            __m512 v[16];
            for (int u = 0; u < 16; ++u)
              v[u] = _mm512_loadu_ps(reinterpret_cast<const float*>(stage + u * kStride + ip + r0));
            isa_avx512_bf16::transpose16x16(v);  // v[r] = words of row ip + r0 + r for pairs q0..q0+15
            for (int r = 0; r < std::min(16, MR - r0); ++r)
              _mm512_mask_storeu_ps(reinterpret_cast<float*>(panel + grp * (W * MR) + (r0 + r) * W), ms, v[r]);
          }
        }
      }
    }
  }

  // B rows contiguous along n (W1 row-major): 4 k pairs (8 rows) at a time, each row read
  // from left to right across the panels, the two rows of a pair interleaved with vpermt2w
  // into 32-word runs, each panel getting 512 consecutive bytes per step. (4 pairs beat 2,
  // and 8 or more, which open too many read streams; panel by panel down the rows is several
  // times slower.)
  // (Panels block_kc floats apart: kc rows of a block of depth block_kc, as pack_b_piece packs.)
  TESSEL_TARGET_AVX512 static void pack_b_rows(const std::uint16_t* base, const Axis& rows, std::int64_t p0,
                                               std::int64_t kc, std::int64_t j0, std::int64_t nc, float* out,
                                               std::int64_t block_kc) {
    static_assert(NR == 32);
    const __m512i idx_lo = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8,  //
                                            39, 7, 38, 6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i idx_hi = _mm512_add_epi16(idx_lo, _mm512_set1_epi16(16));
    const std::int64_t pairs = (kc + 1) / 2;
    constexpr int Q = 4;  // pairs per step: 8 source rows, 512 bytes written per panel
    const std::uint16_t* lo[Q];
    const std::uint16_t* hi[Q];
    for (std::int64_t q0 = 0; q0 < pairs; q0 += Q) {
      const int nq = static_cast<int>(std::min<std::int64_t>(Q, pairs - q0));
      for (int u = 0; u < nq; ++u) {
        const std::int64_t q = q0 + u;
        lo[u] = base + rows.offset(p0 + 2 * q) + j0;
        hi[u] = 2 * q + 1 < kc ? base + rows.offset(p0 + 2 * q + 1) + j0 : nullptr;
      }
      for (std::int64_t jp = 0; jp < nc; jp += NR) {
        const std::int64_t cols = std::min<std::int64_t>(NR, nc - jp);
        const auto m = static_cast<__mmask32>(cols >= 32 ? 0xffffffffu : (1u << cols) - 1);
        auto* o = reinterpret_cast<std::uint32_t*>(out + jp * block_kc) + q0 * NR;
        for (int u = 0; u < nq; ++u, o += NR) {
          const __m512i l = _mm512_maskz_loadu_epi16(m, lo[u] + jp);
          const __m512i h = hi[u] ? _mm512_maskz_loadu_epi16(m, hi[u] + jp) : _mm512_setzero_si512();
          _mm512_storeu_si512(o, _mm512_permutex2var_epi16(l, idx_lo, h));
          _mm512_storeu_si512(o + 16, _mm512_permutex2var_epi16(l, idx_hi, h));
        }
      }
    }
  }

  // Packs B[p0 : p0+kc, j0 : j0+nc] of batch g into NR-column panels of k pairs (panel jp at
  // out + jp*kc floats, as the driver expects).
  template <class T>
  TESSEL_TARGET_AVX512 static void pack_b(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc,
                                          std::int64_t j0, std::int64_t nc, float* out) {
    static_assert(std::is_same_v<T, bfloat16>, "the vdpbf16ps kernel packs bfloat16 only");
    const auto* base = reinterpret_cast<const std::uint16_t*>(b.matrix(g));
    if (b.cols.is_unit()) return pack_b_rows(base, b.rows, p0, kc, j0, nc, out, kc);
    const std::int64_t pairs = (kc + 1) / 2;
    for (std::int64_t jp = 0; jp < nc; jp += NR) {
      auto* panel = reinterpret_cast<std::uint32_t*>(out + jp * kc);
      const int cols = static_cast<int>(std::min<std::int64_t>(NR, nc - jp));
      if (b.rows.is_unit()) {
        // A transposed B: columns contiguous along k, transposed 16 columns at a time.
        for (int jg = 0; jg < NR; jg += 16) {
          const std::uint16_t* line[16];
          const int nl = std::clamp(cols - jg, 0, 16);
          for (int j = 0; j < nl; ++j) line[j] = base + b.cols.offset(j0 + jp + jg + j) + p0;
          isa_avx512_bf16::interleave_pairs(line, nl, kc, panel + jg, NR, 16);
        }
      } else {
        std::int64_t coff[NR];
        axis_offsets(b.cols, j0 + jp, cols, coff);
        for (std::int64_t q = 0; q < pairs; ++q) {
          const std::int64_t r0 = b.rows.offset(p0 + 2 * q);
          const bool has_hi = 2 * q + 1 < kc;
          const std::int64_t r1 = has_hi ? b.rows.offset(p0 + 2 * q + 1) : 0;
          std::uint32_t* o = panel + q * NR;
          for (int j = 0; j < cols; ++j)
            o[j] = std::uint32_t(base[r0 + coff[j]]) | (has_hi ? std::uint32_t(base[r1 + coff[j]]) << 16 : 0u);
          for (int j = cols; j < NR; ++j) o[j] = 0;
        }
      }
    }
  }

  // Rows [r0, r1) of the block pack_b packs (r0 even; r1 even or kc), for a B whose rows are
  // contiguous along n, written where pack_b writes them (pack.hpp: pack_b_piece).
  template <class T>
  TESSEL_TARGET_AVX512 static void pack_b_piece(const Operand<const T>& b, std::int64_t g, std::int64_t p0,
                                                std::int64_t kc, std::int64_t r0, std::int64_t r1, std::int64_t j0,
                                                std::int64_t nc, float* out) {
    static_assert(std::is_same_v<T, bfloat16>, "the vdpbf16ps kernel packs bfloat16 only");
    const auto* base = reinterpret_cast<const std::uint16_t*>(b.matrix(g));
    pack_b_rows(base, b.rows, p0 + r0, r1 - r0, j0, nc, out + r0 / 2 * NR, kc);
  }
};

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END

#endif  // TESSEL_HAVE_X86_TARGETS
