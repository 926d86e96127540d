// tessel/gemm/bf16_guard.hpp — the guard that keeps the vdpbf16ps and AMX routes exact: a
// call takes either only if no element the engine reads is tiny (nonzero, finite and
// |x| < 2^-40).
//
// Numerics: vdpbf16ps treats bfloat16 denormal inputs as zero and flushes a denormal fp32
// result to zero (DAZ/FTZ, whatever MXCSR says), and adds a pair's two products in its own
// order. AMX's tdpbf16ps does the same (DAZ and FTZ on every input and every accumulation,
// MXCSR not consulted), so everything below holds for it word for word: the same condition,
// checked the same two ways (its accumulator tiles start at +0 or at C's partial sums, which
// are sums of the same kind). With normal inputs and results the error stays within the
// fp32-accumulation bound the engine promises; where an input is a bfloat16 denormal, or a
// partial sum falls below 2^-126, the FMA route keeps those tiny values and these lose them
// (see tests/test_gemm_bf16.cpp and tests/test_gemm_amx.cpp). The guard excludes both: when every nonzero finite input has
// |x| >= 2^-40 (8 significant bits, so a multiple of 2^-47), every nonzero product is exact
// in fp32, >= 2^-80 in magnitude and a multiple of 2^-94; sums of multiples of 2^-94 are
// multiples of 2^-94, and so is their fp32 rounding (the fp32 grid there is either finer,
// so the sum is exact, or a coarser power of two). So no partial sum, even after
// cancellation, is nonzero and below 2^-94, let alone 2^-126 where either would flush;
// the result matches the fma route's up to summation order. NaN and ±Inf inputs pass the
// guard and behave as on the fma route (NaN propagates, Inf·0 and Inf − Inf give NaN, Inf·x
// gives Inf). (The epilogue — bias, β·C — is added with ordinary fp32 arithmetic.)
//
// Two ways to check, with the same answer (the same elements): on the packed panels as the
// call runs (Avx512Bf16Kernel's and AmxBf16Kernel's a_panel_rejects / b_block_rejects,
// gemm/pack_pairs.hpp, on the packed words only, never the AMX kernel's zero padding): the
// first tiny value stops the call and the fma route redoes it, overwriting C; or, for a call
// that reads C (β != 0) and so cannot be redone, one scan of A and B before it starts
// (bf16_route_for). Either way the choice depends on the inputs alone, so the bits do not
// depend on the thread count.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "../core/dtype.hpp"
#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "axis.hpp"
#include "bf16_route.hpp"
#include "problem.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

// A bfloat16 is tiny when it is nonzero, finite and |x| < 2^-40: its magnitude bits
// (exponent << 7 | fraction) lie in [1, kBf16TinyLimit). Inf and NaN (exponent 255) are not.
inline constexpr unsigned kBf16TinyLimit = (127u - 40u) << 7;

inline bool bf16_bits_tiny(std::uint16_t b) {
  const unsigned mag = b & 0x7fffu;
  return mag != 0 && mag < kBf16TinyLimit;
}

// Whether any of the n bfloat16 at p is tiny (scalar).
inline bool bf16_run_has_tiny_scalar(const std::uint16_t* p, std::int64_t n) {
  unsigned bad = 0;
  for (std::int64_t i = 0; i < n; ++i) bad |= bf16_bits_tiny(p[i]);
  return bad != 0;
}

#if defined(TESSEL_HAVE_X86_TARGETS)
TESSEL_SIMD_CODE_BEGIN
namespace isa_avx512_bf16 {
// The same, 32 elements at a time: (mag - 1) < kBf16TinyLimit - 1 unsigned (0 wraps to 0xffff).
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE __mmask32 tiny32(__m512i x) {
  const __m512i mag = _mm512_and_si512(x, _mm512_set1_epi16(0x7fff));
  return _mm512_cmplt_epu16_mask(_mm512_sub_epi16(mag, _mm512_set1_epi16(1)),
                                 _mm512_set1_epi16(static_cast<short>(kBf16TinyLimit - 1)));
}
TESSEL_TARGET_AVX512 inline bool run_has_tiny(const std::uint16_t* p, std::int64_t n) {
  std::int64_t e = 0;
  for (; e + 128 <= n; e += 128) {  // 4 vectors per test of the mask
    const __mmask32 m = tiny32(_mm512_loadu_si512(p + e)) | tiny32(_mm512_loadu_si512(p + e + 32)) |
                        tiny32(_mm512_loadu_si512(p + e + 64)) | tiny32(_mm512_loadu_si512(p + e + 96));
    if (m) return true;
  }
  for (; e < n; e += 32) {
    const std::int64_t left = n - e;
    const auto ml = static_cast<__mmask32>(left >= 32 ? 0xffffffffu : (1u << left) - 1);
    if (tiny32(_mm512_maskz_loadu_epi16(ml, p + e))) return true;  // masked-off lanes read 0
  }
  return false;
}
}  // namespace isa_avx512_bf16
TESSEL_SIMD_CODE_END
#endif

// Runs of elements to scan, merged: a run that starts inside (or right at the end of) the
// previous one extends it, so elements the engine reads through several batches (or rows)
// that tile memory without gaps are scanned as one long run. The multi-head A1 [M, G·K] as
// G batches of M×K is one run of M·G·K elements instead of M·G runs of K, visited row after
// row instead of batch after batch (which walked A1's rows G times, a page per row, and cost
// as much as a pass over memory per batch); W1 [G·K, N] as G batches of K×N is one run.
// A merged run covers exactly the union of its parts, so the set of elements scanned (all
// the engine reads, nothing else) is unchanged.
struct Bf16RunScan {
  const std::uint16_t* base;
  bool (*run)(const std::uint16_t*, std::int64_t);
  std::int64_t s = 0, e = 0;  // the pending run [s, e), elements from base; empty when s == e
  // Adds [s2, s2 + len); true if a finished run had a tiny element.
  bool add(std::int64_t s2, std::int64_t len) {
    if (e > s && s2 >= s && s2 <= e) {
      e = std::max(e, s2 + len);
      return false;
    }
    const bool tiny = flush();
    s = s2, e = s2 + len;
    return tiny;
  }
  bool flush() {
    const bool tiny = e > s && run(base + s, e - s);
    s = e = 0;
    return tiny;
  }
};

// Whether any element of the rows × cols operand o, in any of `batch` batches, is tiny:
// every element the engine reads, once (overlapping batches aside), runs along a
// unit-stride axis vectorised and merged (Bf16RunScan), on one thread (split over the
// call's threads, the scan itself was faster but the calls it precedes ran slower).
inline bool bf16_operand_has_tiny(const Operand<const bfloat16>& o, std::int64_t batch, std::int64_t rows,
                                  std::int64_t cols) {
  if (batch <= 0 || rows <= 0 || cols <= 0) return false;
  bool (*run)(const std::uint16_t*, std::int64_t) = bf16_run_has_tiny_scalar;
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (isa_runs_on(Isa::avx512, cpu_features())) run = isa_avx512_bf16::run_has_tiny;
#endif
  const auto* base = reinterpret_cast<const std::uint16_t*>(o.data);
  const std::int64_t batches = o.batch.is_broadcast() ? 1 : batch;  // stride 0: one matrix
  const bool unit_cols = o.cols.is_unit();
  if (unit_cols || o.rows.is_unit()) {
    // Lines (rows, or columns of a transposed operand) of `len` consecutive elements.
    const Axis& lines = unit_cols ? o.rows : o.cols;
    const std::int64_t nlines = unit_cols ? rows : cols, len = unit_cols ? cols : rows;
    // Batches inside a line's stride (column blocks of the same rows) are visited line by
    // line, each line through all batches, so that they can merge; otherwise batch by batch.
    const bool lines_outer = batches > 1 && lines.index == nullptr && lines.dims == 1 && o.batch.dims == 1 &&
                             std::abs(o.batch.stride[0]) < std::abs(lines.stride[0]);
    Bf16RunScan scan{base, run};
    if (lines_outer) {
      for (std::int64_t l = 0; l < nlines; ++l)
        for (std::int64_t g = 0; g < batches; ++g)
          if (scan.add(o.batch.offset(g) + lines.offset(l), len)) return true;
    } else {
      for (std::int64_t g = 0; g < batches; ++g)
        for (std::int64_t l = 0; l < nlines; ++l)
          if (scan.add(o.batch.offset(g) + lines.offset(l), len)) return true;
    }
    return scan.flush();
  }
  for (std::int64_t g = 0; g < batches; ++g) {
    const std::uint16_t* b = base + o.batch.offset(g);
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::uint16_t* row = b + o.rows.offset(r);
      bool bad = false;
      for_each_run(o.cols, 0, cols, [&](std::int64_t off, std::int64_t len) {
        bad = bad || (len == 1 ? bf16_bits_tiny(row[off]) : run(row + off, len));
      });
      if (bad) return true;
    }
  }
  return false;
}

// Whether p's inputs pass the guard (for either flushing route): no tiny element in A
// (m × k) or B (k × n).
template <class TC>
bool bf16_inputs_dpbf16_safe(const GemmProblem<bfloat16, TC>& p) {
  if (p.m <= 0 || p.n <= 0 || p.k <= 0) return true;
  return !bf16_operand_has_tiny(p.a, p.batch, p.m, p.k) && !bf16_operand_has_tiny(p.b, p.batch, p.k, p.n);
}

// The route the AVX-512 path takes for p: bf16_route() when that is fma or forced, else (a
// flushing route chosen automatically) that route only if p's inputs pass the guard, by a
// scan of A and B, and fma otherwise. Path<avx512>::run (gemm/paths.hpp) makes this choice
// for calls that accumulate, asking it here; the others it checks on the packed panels,
// which hold the same elements.
template <class TC>
Bf16Route bf16_route_for(const GemmProblem<bfloat16, TC>& p) {
  const Bf16Route r = bf16_route();
  if (r == Bf16Route::fma || bf16_route_forced()) return r;
  return bf16_inputs_dpbf16_safe(p) ? r : Bf16Route::fma;
}

}  // namespace detail
TESSEL_NAMESPACE_END
