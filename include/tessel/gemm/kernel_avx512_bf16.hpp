// tessel/gemm/kernel_avx512_bf16.hpp — the AVX512-BF16 (vdpbf16ps) route for bfloat16 GEMM.
//
// Two routes compute a bfloat16 GEMM on an AVX-512 CPU:
//   fma     convert bfloat16 to fp32 while packing, fp32 FMAs (Avx512Kernel);
//   dpbf16  pack bfloat16 pairs along k and multiply them with vdpbf16ps (this kernel):
//           one instruction does 32 multiply-adds on 512 bits, an fp32 FMA 16.
// Which is faster depends on the core: on AMD Zen 4 vdpbf16ps issues as fast as an fp32
// FMA (twice the multiply-adds), on Intel Emerald Rapids at half the rate (the same
// multiply-adds, and the fp32 route packs more simply). So the fast choice is a one-time
// measurement at first use (a ~1 ms burst of each instruction), not the CPUID flag alone.
//
// But vdpbf16ps flushes denormals (see Numerics below), which alone would break SPEC §4's
// accuracy rule for tiny values. So the automatic choice is guarded: a call keeps the dpbf16
// route only if no element the engine reads is tiny, i.e. nonzero, finite and |x| < 2^-40
// (bfloat16 exponent field < 127 - 40); otherwise the whole call takes the fma route. The
// check runs on the packed panels as the call goes (Avx512Bf16Kernel::packed_a_has_tiny):
// the first tiny value stops the call and the fma route redoes it, overwriting C. A call
// that accumulates onto C cannot be redone, so for it one scan of A and B comes first (every
// batch, every element the engine reads; 32 at a time where an axis is unit-stride, runs
// that touch merged into one, e.g. all the heads' column blocks of A1: bf16_route_for()).
// Either way the choice depends on the inputs alone, so the bits do not depend on the
// thread count. Why 2^-40 suffices: see Numerics.
//
//   (unset), TESSEL_BF16_ROUTE=auto   measure once; use vdpbf16ps where it is clearly
//                                     faster and the call's inputs pass the guard
//   TESSEL_BF16_ROUTE=dpbf16          use vdpbf16ps whenever the CPU has AVX512_BF16,
//                                     unguarded (tiny values may be flushed)
//   TESSEL_BF16_ROUTE=fma             always the fma route
// (set_bf16_route() overrides the environment; bf16_route_for(p) says which route p takes.)
//
// Packed panels (in the workspace's float buffers, one 32-bit word per k pair, so they use
// at most half of the space the fp32 panels would; an odd kc pads its last pair with a zero
// high half):
//   A row panel:     word[(q/16)*16*MR + i*16 + q%16] = A[i, 2q] | A[i, 2q+1] << 16   (bit
//                    patterns; P = ceil(kc/2) pairs; for kc < 16 one group: word[i*P + q])
//   B column panel:  word[q*NR + j] = B[2q, j] | B[2q+1, j] << 16
// and the micro-kernel computes, per the contract of kernel_scalar.hpp,
//   C[i*ldc + j] (= or +=) Σ_q  A[i,2q]·B[2q,j] + A[i,2q+1]·B[2q+1,j]     (vdpbf16ps, fp32)
// (the A panel's rows are grouped 16 pairs at a time: see Avx512Bf16Kernel). Like the fp32
// kernel it also has run_store (kernel_avx512.hpp): the previous tile goes to the bfloat16 C
// one vector per k pair while the next computes, rounded by isa_avx512::store16 exactly as
// store_block rounds.
//
// Numerics: vdpbf16ps treats bfloat16 denormal inputs as zero and flushes a denormal fp32
// result to zero (DAZ/FTZ, whatever MXCSR says), and adds a pair's two products in its own
// order. With normal inputs and results the error stays within the fp32-accumulation bound
// the engine promises; where an input is a bfloat16 denormal, or a partial sum falls below
// 2^-126, the FMA route keeps those tiny values and this one loses them (see
// tests/test_gemm_bf16.cpp). The guard excludes both: when every nonzero finite input has
// |x| >= 2^-40 (8 significant bits, so a multiple of 2^-47), every nonzero product is exact
// in fp32, >= 2^-80 in magnitude and a multiple of 2^-94; sums of multiples of 2^-94 are
// multiples of 2^-94, and so is their fp32 rounding (the fp32 grid there is either finer,
// so the sum is exact, or a coarser power of two). So no partial sum, even after
// cancellation, is nonzero and below 2^-94, let alone 2^-126 where vdpbf16ps would flush;
// the result matches the fma route's up to summation order. NaN and ±Inf inputs pass the
// guard and behave as on the fma route (NaN propagates, Inf·0 and Inf − Inf give NaN, Inf·x
// gives Inf). (C's old value, when accumulating, is added with an ordinary vaddps.)
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/cpu_features.hpp"
#include "../simd/prefetch.hpp"
#include "../simd/target.hpp"
#include "block_prefetch.hpp"
#include "blocking.hpp"
#include "kernel_avx512.hpp"
#include "pack.hpp"
#include "store.hpp"
#include "problem.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

enum class Bf16Route : int { automatic = -1, fma = 0, dpbf16 = 1 };

#if defined(TESSEL_HAVE_X86_TARGETS)
TESSEL_SIMD_CODE_BEGIN

namespace isa_avx512_bf16 {

// ---- route measurement -------------------------------------------------------------------
// Independent chains, each starting from its own value (so the compiler cannot prove them
// equal and merge them), more than latency × ports on any current core.
inline constexpr int kChains = 16;

TESSEL_TARGET_AVX512 __attribute__((noinline)) inline float fma_burst(std::int64_t iters, float x, float y) {
  __m512 acc[kChains];
  const __m512 a = _mm512_set1_ps(x), b = _mm512_set1_ps(y);
#pragma GCC unroll 16
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.125f * float(i));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __asm__ volatile("" ::: "memory");
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

TESSEL_TARGET_AVX512_BF16 __attribute__((noinline)) inline float dpbf16_burst(std::int64_t iters, float x, float y) {
  __m512 acc[kChains];
  const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(x), _mm512_set1_ps(x));
  const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(y), _mm512_set1_ps(y));
#pragma GCC unroll 16
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 0.125f * float(i));
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    __asm__ volatile("" ::: "memory");
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

// Multiply-adds per nanosecond of each instruction, best of a few short bursts (the best,
// because a burst can only be slowed by other work on the core, never sped up).
struct RouteRates {
  double fma = 0, dpbf16 = 0;
};
inline RouteRates measure_route_rates() {
  using clock = std::chrono::steady_clock;
  constexpr std::int64_t iters = 4096;  // 65536 instructions: ~20–70 µs a burst
  RouteRates r;
  volatile float sink = 0;
  auto best = [&](auto burst, double macs_per_instr) {
    double ns_min = 1e300;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = clock::now();
      sink = sink + burst(iters, 0.5f, 0.125f);
      const double ns = std::chrono::duration<double, std::nano>(clock::now() - t0).count();
      ns_min = std::min(ns_min, ns);
    }
    return double(kChains) * double(iters) * macs_per_instr / std::max(ns_min, 1.0);
  };
  // Alternate twice, so that a frequency change (AVX-512 licence, boost) during the first
  // bursts does not favour the instruction measured second.
  for (int round = 0; round < 2; ++round) {
    r.fma = std::max(r.fma, best(fma_burst, 16.0));
    r.dpbf16 = std::max(r.dpbf16, best(dpbf16_burst, 32.0));
  }
  return r;
}

}  // namespace isa_avx512_bf16

TESSEL_SIMD_CODE_END
#endif  // TESSEL_HAVE_X86_TARGETS

// Whether this CPU can run the dpbf16 route at all.
inline bool dpbf16_available() {
  const CpuFeatures& f = cpu_features();
  return f.has_avx512_path() && f.avx512_bf16;
}

// The route the measurement picks: vdpbf16ps only when it does clearly (> 1.2×) more
// multiply-adds per unit time than fp32 FMAs (packing pairs costs a little more).
inline Bf16Route measured_bf16_route() {
  static const Bf16Route route = [] {
#if defined(TESSEL_HAVE_X86_TARGETS)
    if (!dpbf16_available()) return Bf16Route::fma;
    const auto r = isa_avx512_bf16::measure_route_rates();
    return r.dpbf16 > 1.2 * r.fma ? Bf16Route::dpbf16 : Bf16Route::fma;
#else
    return Bf16Route::fma;
#endif
  }();
  return route;
}

inline std::atomic<int>& bf16_route_setting() {
  static std::atomic<int> v{static_cast<int>(Bf16Route::automatic)};
  return v;
}

// The route setting: set_bf16_route(), else TESSEL_BF16_ROUTE: fma or dpbf16 when forced,
// automatic (guarded, see the header) when unset, "auto" or anything else.
inline Bf16Route bf16_route_mode() {
  const int v = bf16_route_setting().load(std::memory_order_relaxed);
  if (v >= 0) return static_cast<Bf16Route>(v);
  static const Bf16Route from_env = [] {
    const char* env = std::getenv("TESSEL_BF16_ROUTE");
    const std::string_view s = env ? env : "";
    if (s == "dpbf16") return Bf16Route::dpbf16;
    if (s == "fma") return Bf16Route::fma;
    return Bf16Route::automatic;  // unset, "auto" or anything else: measured, guarded
  }();
  return from_env;
}

// The bfloat16 route on the AVX-512 path for calls whose inputs pass the guard (the forced
// route, else the measurement). Never dpbf16 on a CPU without AVX512_BF16. A given call
// may still take the fma route: see bf16_route_for().
inline Bf16Route bf16_route() {
  if (!dpbf16_available()) return Bf16Route::fma;
  const Bf16Route mode = bf16_route_mode();
  return mode != Bf16Route::automatic ? mode : measured_bf16_route();
}

// Forces a route (automatic: back to what TESSEL_BF16_ROUTE says); returns bf16_route().
inline Bf16Route set_bf16_route(Bf16Route r) {
  bf16_route_setting().store(static_cast<int>(r), std::memory_order_relaxed);
  return bf16_route();
}

// ---- the guard: tiny inputs ------------------------------------------------------------------
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
// unit-stride axis vectorised and merged (Bf16RunScan), on one thread. (Split over the
// call's two threads, the mh32 A scan took 1.0 instead of 1.4 ms, yet the call as a whole
// ran ~20 % slower on two threads in bench_gemm: measured, so not done.)
inline bool bf16_operand_has_tiny(const Operand<const bfloat16>& o, std::int64_t batch, std::int64_t rows,
                                  std::int64_t cols) {
  if (batch <= 0 || rows <= 0 || cols <= 0) return false;
  bool (*run)(const std::uint16_t*, std::int64_t) = bf16_run_has_tiny_scalar;
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (cpu_features().has_avx512_path()) run = isa_avx512_bf16::run_has_tiny;
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

// Whether p's inputs pass the guard: no tiny element in A (m × k) or B (k × n).
template <class TC>
bool bf16_inputs_dpbf16_safe(const GemmProblem<bfloat16, TC>& p) {
  if (p.m <= 0 || p.n <= 0 || p.k <= 0) return true;
  return !bf16_operand_has_tiny(p.a, p.batch, p.m, p.k) && !bf16_operand_has_tiny(p.b, p.batch, p.k, p.n);
}

// The route the AVX-512 path takes for p: fma unless bf16_route() is dpbf16; then dpbf16
// when forced, else (automatic) only if p's inputs pass the guard, by a scan of A and B.
// (gemm_on asks this of calls that accumulate; the others it checks on the packed panels,
// which hold the same elements.)
template <class TC>
Bf16Route bf16_route_for(const GemmProblem<bfloat16, TC>& p) {
  if (bf16_route() != Bf16Route::dpbf16) return Bf16Route::fma;
  if (bf16_route_mode() == Bf16Route::dpbf16) return Bf16Route::dpbf16;
  return bf16_inputs_dpbf16_safe(p) ? Bf16Route::dpbf16 : Bf16Route::fma;
}

#if defined(TESSEL_HAVE_X86_TARGETS)
TESSEL_SIMD_CODE_BEGIN

namespace isa_avx512_bf16 {

template <class T>
inline std::uint32_t bits16(const T& v) {
  static_assert(sizeof(T) == 2);
  std::uint16_t b;
  std::memcpy(&b, &v, 2);
  return b;
}

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
// zero), reading only the first n elements.
TESSEL_TARGET_AVX512 TESSEL_ALWAYS_INLINE __m512i pair16(const std::uint16_t* lo, const std::uint16_t* hi, __mmask16 m) {
  const __m512i l = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo));
  if (!hi) return l;
  const __m512i h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, hi));
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

}  // namespace isa_avx512_bf16

// c += broadcast(*pair) · b with vdpbf16ps's embedded broadcast of a 32-bit pair from memory
// (m32{1to16}). GCC does not fold _mm512_set1_epi32 into the instruction, and the register
// it would hold the broadcast in is the one run_store needs to convert a pending vector.
TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE void dpbf16_bcast(__m512& c, const std::uint32_t* pair, __m512 b) {
  __asm__("vdpbf16ps %2%{1to16%}, %1, %0" : "+v"(c) : "v"(b), "m"(*pair));
}

// The micro-kernel: MR×NR = 14×32, like the fp32 kernel (kernel_avx512.hpp): 28 zmm
// accumulators, two zmm of B pairs per k pair, A's pair broadcast from memory as
// vdpbf16ps's operand, so 30 zmm are live and two are left for run_store. Per k pair:
// 2 vector loads + 28 broadcast loads feed 28 vdpbf16ps (896 multiply-adds).
//
// The A panel is stored row by row in groups of 16 pairs (64 bytes of each row):
//   word[(q/16)·16·MR + i·16 + q%16]        (kc >= 16; the last group padded to 16, unread)
//   word[i·P + q]                            (kc < 16: one group of all P = ceil(kc/2) pairs)
// so that packing rows contiguous along k is a copy of 64-byte pieces (the multi-head shape
// with N = 128, where each A panel serves only 4 tiles, paid about a quarter of the kernel
// time for a transpose), while the kernel still reads one pointer plus constant offsets:
// with plain rows (stride P) its 14 row addresses needed more index registers than x86
// has, and the offsets were reloaded from the stack every k pair. (16-pair groups fit the
// MR·kc floats the driver gives a panel for any kc >= 16: ceil(P/16)·16 <= kc.)
struct Avx512Bf16Kernel {
  static constexpr Isa isa = Isa::avx512;
  static constexpr int MR = 14;
  static constexpr int NR = 32;
  // Never run as Cᵀ = Bᵀ·Aᵀ (driver.hpp: transpose_pays): for dW = A3ᵀ·dO that makes dO
  // the A operand, contiguous along m, whose pairs along k pack panel by panel from lines
  // pages apart, much slower than packing dO as B rows (M=2048 K=64 N=1024 ×16: 20 %
  // faster as given, in spite of the 14-row tiles' padding of m = 64).
  static constexpr bool may_run_transposed = false;
  // pack_a takes a whole block of an A contiguous along m (driver.hpp), whose k lines it
  // reads start to end into all the block's panels.
  static constexpr bool packs_k_major_a_block = true;
  static constexpr std::int64_t kGroup = 16;  // pairs per row per group of an A panel

  // Pairs per row in a group of the A panel for depth kc (the group's row stride in words).
  static constexpr std::int64_t a_group(std::int64_t kc) { return kc >= kGroup ? kGroup : (kc + 1) / 2; }

  // One k pair of the tile: c[i][:] += A[i, pair] · B[pair, :] for rows at a + i·stride.
  TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE static void dp_step(__m512 (&c)[MR][2], const std::uint32_t* a,
                                                                     std::int64_t stride, const std::uint32_t* b) {
    const __m512 b0 = _mm512_load_ps(b);
    const __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
      dpbf16_bcast(c[i][0], a + i * stride, b0);
      dpbf16_bcast(c[i][1], a + i * stride, b1);
    }
  }

  // Output types run_store can write (the driver's spread path): the bfloat16 output, or
  // the unrounded fp32 one (which needs no conversion register either).
  template <class T>
  static constexpr bool spread_store = std::is_same_v<T, bfloat16> || std::is_same_v<T, float>;

  // Writes all of a pending tile now (the driver's last tile of a unit).
  template <class T>
  TESSEL_TARGET_AVX512 static void flush(const PendingTile<T, MR>& pt) {
    isa_avx512::flush_pending(pt);
  }

  // The tile, and with Store the pending tile written meanwhile: one vector per k pair (two
  // while more vectors than pairs are left; a vector per 28 vdpbf16ps keeps C's cache-line
  // misses draining behind the arithmetic), what is left after the last pair in one burst,
  // all before this tile is written (the pending source may be this call's C).
  template <bool Store, class T>
  TESSEL_TARGET_AVX512_BF16 TESSEL_ALWAYS_INLINE static void compute(std::int64_t kc, const float* Ap, const float* Bp,
                                                                     float* C, std::int64_t ldc, bool accumulate,
                                                                     const PendingTile<T, MR>* pt,
                                                                     BlockPrefetch* next = nullptr) {
    const auto* A = reinterpret_cast<const std::uint32_t*>(Ap);
    const auto* B = reinterpret_cast<const std::uint32_t*>(Bp);
    const std::int64_t pairs = (kc + 1) / 2;
    __m512 c[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
    // The pending vectors, row by row: (r, q) walks rows < prow, q < nv; `extra` of the
    // k pairs store two.
    const int prow = Store && pt->nv > 0 ? pt->rows : 0;
    const int nv = Store ? pt->nv : 0;
    int r = 0, q = 0;
    std::int64_t extra = Store ? std::int64_t(prow) * nv - pairs : 0;
    // (A macro rather than a lambda: GCC's lambdas do not inherit the target attributes.)
#define TESSEL_BF16_STORE_SLOT()                      \
  if constexpr (Store) {                              \
    if (r < prow) {                                   \
      isa_avx512::store_pending(*pt, r, q);           \
      if (++q == nv) q = 0, ++r;                      \
      if (extra > 0 && r < prow) {                    \
        --extra;                                      \
        isa_avx512::store_pending(*pt, r, q);         \
        if (++q == nv) q = 0, ++r;                    \
      }                                               \
    }                                                 \
  }
    if (kc >= kGroup) {
      const std::uint32_t* b = B;
      for (std::int64_t q0 = 0; q0 < pairs; q0 += kGroup, A += kGroup * MR) {
        const std::uint32_t* const bend = b + std::min(kGroup, pairs - q0) * NR;
        for (const std::uint32_t* a = A; b < bend; b += NR, ++a) {
          dp_step(c, a, kGroup, b);
          TESSEL_BF16_STORE_SLOT()
          if (next) next->step();
        }
      }
    } else {
      for (std::int64_t u = 0; u < pairs; ++u) {
        dp_step(c, A + u, pairs, B + u * NR);
        TESSEL_BF16_STORE_SLOT()
        if (next) next->step();
      }
    }
#undef TESSEL_BF16_STORE_SLOT
    if constexpr (Store) {
      for (; r < prow; ++r, q = 0)
        for (; q < nv; ++q) isa_avx512::store_pending(*pt, r, q);
    }
    write_tile<MR>(C, ldc, c, accumulate);
  }

  // C[i*ldc + j] (= or +=) Σ_q A[i,2q]·B[2q,j] + A[i,2q+1]·B[2q+1,j] on the packed panels;
  // with `next`, one line of the unit's next k block is prefetched per k pair.
  TESSEL_TARGET_AVX512_BF16 static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                            std::int64_t ldc, bool accumulate, BlockPrefetch* next = nullptr) {
    compute<false, bfloat16>(kc, Ap, Bp, C, ldc, accumulate, nullptr, next);
  }

  // run(), writing all of `pending` to C meanwhile (kernel_avx512.hpp's run_store contract).
  template <class T>
  TESSEL_TARGET_AVX512_BF16 static void run_store(std::int64_t kc, const float* Ap, const float* Bp, float* C,
                                                  std::int64_t ldc, bool accumulate, const PendingTile<T, MR>& pending) {
    static_assert(spread_store<T>);
    compute<true, T>(kc, Ap, Bp, C, ldc, accumulate, &pending);
  }

  // Packs A[i0 : i0+mc, p0 : p0+kc] of batch g into MR-row panels of k pairs (panel ip at
  // out + ip*kc floats, as the driver expects), each panel in the row-by-row groups of 16
  // pairs described above the kernel, so that rows contiguous along k are 64-byte copies.
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
    if (a.cols.is_unit() && a.rows.index == nullptr) {
      // The driver prefetches the next panel; fetch the one after it too (A's rows are
      // often pages apart, and one panel of compute is not always enough to hide that).
      // Rows past the end of A are harmless here: a prefetch never faults.
      const std::int64_t bytes = kc * 2;
      for (std::int64_t r = mc + MR; r < mc + 2 * MR; ++r) prefetch_bytes(base + a.rows.offset(i0 + r) + p0, bytes);
    }
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

  // The guard on the packed panels (run_gemm's guarded mode, gemm.hpp): whether the words
  // just packed hold a tiny bfloat16 (bf16_bits_tiny). Checking the panels while they are in
  // L1 or L2 costs a few percent of their arithmetic; scanning A and B in memory before the
  // call cost 4–10 % of the multi-head products (a second pass over A1 from DRAM). Only the
  // words packing wrote are read, never stale padding, so the answer depends on the inputs
  // alone. One MR-row A panel of depth kc (its layout: above the kernel):
  TESSEL_TARGET_AVX512 static bool packed_a_has_tiny(const float* panel, std::int64_t kc) {
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
  TESSEL_TARGET_AVX512 static bool packed_b_has_tiny(const float* block, std::int64_t nc, std::int64_t kc) {
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
  // bound the buffer. (Panel by panel, 14 elements of each line per panel, lines 8 KiB
  // apart fell into one L1 set: M=4096 K=128 N=128 ×32 dW spent 18 % packing A.)
  TESSEL_TARGET_AVX512 static void pack_a_k_major(const std::uint16_t* base, const Axis& lines, std::int64_t i0,
                                                  std::int64_t mc, std::int64_t p0, std::int64_t kc, float* out) {
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
          __m512 v[16];
          for (int u = 0; u < 16; ++u) v[u] = _mm512_loadu_ps(reinterpret_cast<const float*>(stage + u * kStride + ip));
          isa_avx512_bf16::transpose16x16(v);  // v[r] = words of row ip + r for pairs q0..q0+15
          const std::int64_t grp = W == kGroup ? q0 / kGroup : 0;
          for (int r = 0; r < MR; ++r)
            _mm512_mask_storeu_ps(reinterpret_cast<float*>(panel + grp * (W * MR) + r * W), ms, v[r]);
        }
      }
    }
  }

  // B rows contiguous along n (W1 row-major): 4 k pairs (8 rows) at a time, each row read
  // from left to right across the panels, the two rows of a pair interleaved with vpermt2w
  // into 32-word runs, each panel getting 512 consecutive bytes per step. (Measured on Zen 4
  // for a 256×512 block in L2: 7 µs; 4 pairs beat 2 (8.5 µs) and 8 or more (13–25 µs: too
  // many read streams), and panel by panel down the rows took 23 µs.)
  TESSEL_TARGET_AVX512 static void pack_b_rows(const std::uint16_t* base, const Axis& rows, std::int64_t p0,
                                               std::int64_t kc, std::int64_t j0, std::int64_t nc, float* out) {
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
        auto* o = reinterpret_cast<std::uint32_t*>(out + jp * kc) + q0 * NR;
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
    if (b.cols.is_unit()) return pack_b_rows(base, b.rows, p0, kc, j0, nc, out);
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
};

TESSEL_SIMD_CODE_END
#endif  // TESSEL_HAVE_X86_TARGETS

}  // namespace detail
TESSEL_NAMESPACE_END
