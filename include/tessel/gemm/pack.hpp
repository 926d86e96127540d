// tessel/gemm/pack.hpp — packing: where strides, index lists and dtypes are absorbed.
//
// The micro-kernel only ever sees two dense fp32 panel formats:
//   A block (mc×kc) as row panels of MR rows:     panel[p*MR + i] = A[i0 + i, p0 + p]
//   B block (kc×nc) as column panels of NR cols:  panel[p*NR + j] = B[p0 + p, j0 + j]
// zero-padded to whole MR / NR. Packing reads the operands through their Axis descriptions
// (any strides, merged dimension pairs, index lists), converts float16/bfloat16 to fp32 with
// the ISA's vector conversion, and so replaces every "gather, transpose, upcast" temporary a
// naive implementation would make.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../core/dtype.hpp"
#include "../simd/convert.hpp"
#include "blocking.hpp"
#include "problem.hpp"

namespace tessel::detail::inline TESSEL_FLAGS_NS {

// Converts n elements of src (unit stride) to float with the ISA's vector code.
template <Isa I, class T>
inline void load_run(const T* src, float* dst, std::int64_t n) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512) return isa_avx512::to_float(src, dst, n);
  else if constexpr (I == Isa::avx2) return isa_avx2::to_float(src, dst, n);
  else
#endif
    isa_scalar::to_float(src, dst, n);
}

template <Isa I, class T>
inline void store_run(const float* src, T* dst, std::int64_t n, bool add, bool stream) {
#if defined(TESSEL_HAVE_X86_TARGETS)
  if constexpr (I == Isa::avx512) return isa_avx512::from_float(src, dst, n, add, stream);
  else if constexpr (I == Isa::avx2) return isa_avx2::from_float(src, dst, n, add, stream);
  else
#endif
    isa_scalar::from_float(src, dst, n, add, stream);
}

// Packs A[i0 : i0+mc, p0 : p0+kc] of batch g into MR-row panels.
template <Isa I, int MR, class T>
void pack_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t mc, std::int64_t p0,
            std::int64_t kc, float* out) {
  const T* base = a.batch(g);
  alignas(64) float row[kMaxKc];
  for (std::int64_t ip = 0; ip < mc; ip += MR) {
    float* panel = out + ip * kc;
    const int rows = static_cast<int>(std::min<std::int64_t>(MR, mc - ip));
    if (a.cols.is_unit()) {
      // Rows are contiguous along k (the usual A1 layout): convert a row, then interleave.
      for (int r = 0; r < rows; ++r) {
        load_run<I>(base + a.rows.offset(i0 + ip + r) + p0, row, kc);
        for (std::int64_t p = 0; p < kc; ++p) panel[p * MR + r] = row[p];
      }
    } else if (a.rows.is_unit()) {
      // Columns are contiguous along m (a transposed A, or A3ᵀ gathered along k).
      const T* col0 = base + i0 + ip;
      for (std::int64_t p = 0; p < kc; ++p) load_run<I>(col0 + a.cols.offset(p0 + p), panel + p * MR, rows);
    } else {
      std::int64_t roff[MR];
      for (int r = 0; r < rows; ++r) roff[r] = a.rows.offset(i0 + ip + r);
      for (std::int64_t p = 0; p < kc; ++p) {
        const std::int64_t co = a.cols.offset(p0 + p);
        for (int r = 0; r < rows; ++r) panel[p * MR + r] = static_cast<float>(base[roff[r] + co]);
      }
    }
    if (rows < MR)
      for (std::int64_t p = 0; p < kc; ++p)
        for (int r = rows; r < MR; ++r) panel[p * MR + r] = 0.0f;
  }
}

// Packs B[p0 : p0+kc, j0 : j0+nc] of batch g into NR-column panels.
template <Isa I, int NR, class T>
void pack_b(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc, std::int64_t j0,
            std::int64_t nc, float* out) {
  const T* base = b.batch(g);
  alignas(64) float col[kMaxKc];
  for (std::int64_t jp = 0; jp < nc; jp += NR) {
    float* panel = out + jp * kc;
    const int cols = static_cast<int>(std::min<std::int64_t>(NR, nc - jp));
    if (b.cols.is_unit()) {
      // Rows of B are contiguous along n (W1 row-major): a straight copy per k.
      const T* c0 = base + j0 + jp;
      for (std::int64_t p = 0; p < kc; ++p) {
        load_run<I>(c0 + b.rows.offset(p0 + p), panel + p * NR, cols);
        for (int j = cols; j < NR; ++j) panel[p * NR + j] = 0.0f;
      }
    } else {
      for (int j = 0; j < cols; ++j) {
        const T* cj = base + b.cols.offset(j0 + jp + j);
        if (b.rows.is_unit()) {
          load_run<I>(cj + p0, col, kc);  // a transposed B: each column is contiguous along k
        } else {
          for (std::int64_t p = 0; p < kc; ++p) col[p] = static_cast<float>(cj[b.rows.offset(p0 + p)]);
        }
        for (std::int64_t p = 0; p < kc; ++p) panel[p * NR + j] = col[p];
      }
      for (std::int64_t p = 0; p < kc; ++p)
        for (int j = cols; j < NR; ++j) panel[p * NR + j] = 0.0f;
    }
  }
}

// Writes the fp32 block buffer (mc×nc, leading dimension ldc) to C[i0 :, j0 :] of batch g,
// converting to T with one rounding (after adding C's old value when accumulating).
template <Isa I, class T>
void store_block(const float* buf, std::int64_t ldc, std::int64_t mc, std::int64_t nc, const Operand<T>& c,
                 std::int64_t g, std::int64_t i0, std::int64_t j0, bool accumulate, bool stream) {
  T* base = c.batch(g);
  for (std::int64_t r = 0; r < mc; ++r) {
    T* row = base + c.rows.offset(i0 + r);
    const float* src = buf + r * ldc;
    if (c.cols.is_unit()) {
      store_run<I>(src, row + j0, nc, accumulate, stream);
    } else {
      for (std::int64_t j = 0; j < nc; ++j) {
        T* dst = row + c.cols.offset(j0 + j);
        *dst = tessel::from_float<T>(src[j] + (accumulate ? static_cast<float>(*dst) : 0.0f));
      }
    }
  }
}

}  // namespace tessel::detail::TESSEL_FLAGS_NS
