// tessel/gemm/kernel_amx_bf16.hpp — the AMX-BF16 micro-kernel: bfloat16 pairs along k
// multiplied on tiles with tdpbf16ps (contract: kernel_contract.hpp; which calls take it:
// gemm/bf16_route.hpp and gemm/bf16_guard.hpp; its panels: gemm/pack_pairs.hpp).
//
//   C[i*ldc + j] (= or +=) Σ_q A[i,2q]·B[2q,j] + A[i,2q+1]·B[2q+1,j]     (fp32, tdpbf16ps)
//
// MR×NR = 32×32 as 2×2 accumulator tiles of 16×16 fp32 (tmm0-3). Per 16 k pairs: two A tiles
// of 16 rows × 16 pairs (tmm4, tmm5) and two B tiles of 16 pairs × 16 columns (tmm6, tmm7),
// each loaded once and used by two tdpbf16ps: 4 instructions, 32·32·32 multiply-adds, per
// 4 KiB of tile loads.
//
// Panels: PairPanels<32, 32>. A group of an A panel (16 pairs of each of the 32 rows, rows
// 64 bytes apart) is exactly two A tiles, one after the other; a B panel's rows of 32 words
// (128 bytes) hold two B tiles side by side. The kernel reads whole groups, so its packing
// zero-fills what the vdpbf16ps kernel leaves unread: the pairs past kc in the last group
// (A's words, B's rows). 0·0 adds +0, which changes no sum (every sum starts at +0, so none is
// −0), and unlike stale padding can never be Inf or NaN. With kc < 16 (fewer than 8 pairs) a
// panel has no room for a whole group: run() copies it into zero-padded tiles on the stack.
//
// Per-thread state: one tile configuration for every call (all eight tiles 16 rows × 64
// bytes), loaded by the first run() on a thread and released by release_thread_state(),
// which the driver calls at the end of each work unit (KernelStateScope): between calls no
// thread holds tile state (which would cost 8 KiB per context switch and keep the
// configuration out of other code's way). Accumulating, C's tiles are loaded into the
// accumulators and the sum goes on from them.
//
// Numerics: tdpbf16ps, like vdpbf16ps, treats denormal inputs as zero and flushes denormal
// results to zero whatever MXCSR says; products of bfloat16 are exact in fp32 and each is
// added with one rounding to nearest even. So the guard of gemm/bf16_guard.hpp (no nonzero
// finite input below 2^-40) keeps this kernel exact for the same reason as vdpbf16ps: every
// partial sum is a multiple of 2^-94, 0 or far above 2^-126, including the C tiles loaded to
// accumulate (sums of the same kind).
//
// The tile instructions are inline asm rather than <immintrin.h>'s _tile_* macros: GCC 12's
// _tile_loadd does not tell the compiler that it reads memory, so the stores that fill a tile
// (the stack copies here, the packing) could be moved past the load or dropped as dead. Each
// instruction below declares a memory clobber, which also keeps them in program order.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <cstring>

#include "../core/dtype.hpp"
#include "../simd/cpu_features.hpp"
#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "block_prefetch.hpp"
#include "blocking.hpp"
#include "kernel_contract.hpp"
#include "pack_pairs.hpp"
#include "problem.hpp"

#if defined(TESSEL_HAVE_X86_TARGETS)
#include <immintrin.h>

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// The 64-byte operand of ldtilecfg (palette 1): bytes per row and rows of each tile.
struct alignas(64) AmxTileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(AmxTileConfig) == 64);

namespace isa_amx {

// All eight tiles 16 rows × 64 bytes: 16×16 fp32 accumulators, 16 rows × 16 bfloat16 pairs.
inline constexpr AmxTileConfig kTiles16x64 = [] {
  AmxTileConfig c;
  for (int t = 0; t < 8; ++t) c.colsb[t] = 64, c.rows[t] = 16;
  return c;
}();

TESSEL_TARGET_AMX TESSEL_ALWAYS_INLINE void load_config(const AmxTileConfig& c) {
  __asm__ volatile("ldtilecfg %0" : : "m"(c) : "memory");
}
TESSEL_TARGET_AMX TESSEL_ALWAYS_INLINE void release_tiles() { __asm__ volatile("tilerelease" : : : "memory"); }
template <int T>
TESSEL_TARGET_AMX TESSEL_ALWAYS_INLINE void zero() {
  __asm__ volatile("tilezero %%tmm%c0" : : "n"(T) : "memory");
}
// Tile T = the 16 rows of 64 bytes at p, `stride` bytes apart.
template <int T>
TESSEL_TARGET_AMX TESSEL_ALWAYS_INLINE void load(const void* p, std::int64_t stride) {
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm%c2" : : "r"(p), "r"(stride), "n"(T) : "memory");
}
template <int T>
TESSEL_TARGET_AMX TESSEL_ALWAYS_INLINE void store(void* p, std::int64_t stride) {
  __asm__ volatile("tilestored %%tmm%c2, (%0,%1,1)" : : "r"(p), "r"(stride), "n"(T) : "memory");
}
// Tile C += tile A (16 rows × 16 pairs) · tile B (16 pairs × 16 columns), fp32.
template <int C, int A, int B>
TESSEL_TARGET_AMX TESSEL_ALWAYS_INLINE void dpbf16() {
  __asm__ volatile("tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0" : : "n"(C), "n"(A), "n"(B) : "memory");
}

}  // namespace isa_amx

struct AmxBf16Kernel {
  static constexpr Isa isa = Isa::avx512;  // its packing, stores and conversions are AVX-512's
  static constexpr int MR = 32;
  static constexpr int NR = 32;
  using Panels = PairPanels<MR, NR>;
  static constexpr std::int64_t kGroup = Panels::kGroup;  // 16 pairs: one tile's depth
  static_assert(kGroup == 16);
  // Never run as Cᵀ = Bᵀ·Aᵀ: a square tile gains no fill from it.
  static constexpr KernelFeatures features{.prefetches_next_block = true,
                                           .own_panels = true,
                                           .packs_a_block_of_lines = true,
                                           .checks_panels = true,
                                           .runs_transposed = false,
                                           .holds_thread_state = true,
                                           .needs = kFeatureAmxBf16};

  // Whether this thread holds the kernel's tile configuration.
  static bool& configured() {
    static thread_local bool held = false;
    return held;
  }
  // Gives the tiles back (the driver, at the end of each work unit): nothing if this thread
  // did not configure them, so another user of AMX on the thread is never disturbed.
  TESSEL_TARGET_AMX static void release_thread_state() {
    if (configured()) {
      isa_amx::release_tiles();
      configured() = false;
    }
  }

  // A panel pair of depth kc < 16 (pairs words per row, fewer than a tile's 16) copied into
  // zero-padded tiles: a_pad rows of 16 words, b_pad 16 rows of 32 words.
  TESSEL_TARGET_AMX static void pad_short(const std::uint32_t* A, const std::uint32_t* B, std::int64_t pairs,
                                          std::uint32_t* a_pad, std::uint32_t* b_pad) {
    const auto m = static_cast<__mmask16>((1u << pairs) - 1);
    for (int i = 0; i < MR; ++i) _mm512_store_si512(a_pad + i * kGroup, _mm512_maskz_loadu_epi32(m, A + i * pairs));
    for (std::int64_t q = 0; q < kGroup; ++q)
      for (int h = 0; h < NR; h += 16)
        _mm512_store_si512(b_pad + q * NR + h, q < pairs ? _mm512_loadu_si512(B + q * NR + h) : _mm512_setzero_si512());
  }

  // The tile on the packed pair panels; with `next`, two lines of the unit's next k block are
  // prefetched per 16 k pairs.
  TESSEL_TARGET_AMX static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc,
                                    bool accumulate, BlockPrefetch* next = nullptr) {
    if (!configured()) {
      isa_amx::load_config(isa_amx::kTiles16x64);
      configured() = true;
    }
    const auto* A = reinterpret_cast<const std::uint32_t*>(Ap);
    const auto* B = reinterpret_cast<const std::uint32_t*>(Bp);
    const std::int64_t pairs = (kc + 1) / 2;
    alignas(64) std::uint32_t a_pad[MR * kGroup], b_pad[kGroup * NR];
    if (kc < kGroup) {
      pad_short(A, B, pairs, a_pad, b_pad);
      A = a_pad, B = b_pad;
    }
    const std::int64_t groups = (pairs + kGroup - 1) / kGroup;
    constexpr std::int64_t a_stride = kGroup * 4, b_stride = NR * 4;  // bytes between tile rows
    const std::int64_t c_stride = ldc * 4;
    float* const c1 = C + 16 * ldc;  // the lower two accumulator tiles
    if (accumulate) {
      isa_amx::load<0>(C, c_stride);
      isa_amx::load<1>(C + 16, c_stride);
      isa_amx::load<2>(c1, c_stride);
      isa_amx::load<3>(c1 + 16, c_stride);
    } else {
      isa_amx::zero<0>();
      isa_amx::zero<1>();
      isa_amx::zero<2>();
      isa_amx::zero<3>();
    }
    for (std::int64_t g = 0; g < groups; ++g) {
      const std::uint32_t* a = A + g * (kGroup * MR);  // rows 0-15, then rows 16-31
      const std::uint32_t* b = B + g * (kGroup * NR);  // columns 0-15 and 16-31 of 16 pairs
      isa_amx::load<4>(a, a_stride);
      isa_amx::load<6>(b, b_stride);
      isa_amx::dpbf16<0, 4, 6>();
      isa_amx::load<7>(b + 16, b_stride);
      isa_amx::dpbf16<1, 4, 7>();
      isa_amx::load<5>(a + 16 * kGroup, a_stride);
      isa_amx::dpbf16<2, 5, 6>();
      isa_amx::dpbf16<3, 5, 7>();
      if (next) {
        next->step();
        next->step();
      }
    }
    isa_amx::store<0>(C, c_stride);
    isa_amx::store<1>(C + 16, c_stride);
    isa_amx::store<2>(c1, c_stride);
    isa_amx::store<3>(c1 + 16, c_stride);
  }

  // The pair panels (gemm/pack_pairs.hpp), their partial last group zero-filled, and their
  // check for tiny values (on the packed words only, as for the vdpbf16ps kernel).
  template <class T>
  static void pack_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t mc, std::int64_t p0,
                     std::int64_t kc, float* out) {
    Panels::pack_a(a, g, i0, mc, p0, kc, out);
    pad_a_groups(mc, kc, out);
  }
  template <class T>
  static void pack_b(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc, std::int64_t j0,
                     std::int64_t nc, float* out) {
    Panels::pack_b(b, g, p0, kc, j0, nc, out);
    pad_b_groups(nc, kc, out);
  }
  static bool a_panel_rejects(const float* panel, std::int64_t kc) { return Panels::a_panel_rejects(panel, kc); }
  static bool b_block_rejects(const float* block, std::int64_t nc, std::int64_t kc) {
    return Panels::b_block_rejects(block, nc, kc);
  }

  // Steps of run()'s k loop (BlockPrefetch::step calls) for depth kc: two per group.
  static constexpr std::int64_t prefetch_steps(std::int64_t kc) { return 2 * (((kc + 1) / 2 + kGroup - 1) / kGroup); }

  // Zeros the words past the last pair in the last group of every row of the A panels for
  // rows [0, mc) (panel ip at out + ip*kc). (kc >= 16 only: a shorter panel has one group of
  // exactly its pairs, padded by run().)
  TESSEL_TARGET_AVX512 static void pad_a_groups(std::int64_t mc, std::int64_t kc, float* out) {
    const std::int64_t pairs = (kc + 1) / 2, full = pairs / kGroup * kGroup;
    if (kc < kGroup || full == pairs) return;
    const auto unused = static_cast<__mmask16>(0xffffu << (pairs - full));
    for (std::int64_t ip = 0; ip < mc; ip += MR) {
      std::uint32_t* last = reinterpret_cast<std::uint32_t*>(out + ip * kc) + full * MR;
      for (int r = 0; r < MR; ++r) _mm512_mask_storeu_epi32(last + r * kGroup, unused, _mm512_setzero_si512());
    }
  }
  // Zeros the rows past the last pair up to a whole group in the B panels of an nc-column
  // block (panel jp at out + jp*kc; kc >= 16 leaves room for them, see PairPanels).
  static void pad_b_groups(std::int64_t nc, std::int64_t kc, float* out) {
    const std::int64_t pairs = (kc + 1) / 2, padded = round_up(pairs, kGroup);
    if (kc < kGroup || padded == pairs) return;
    for (std::int64_t jp = 0; jp < nc; jp += NR)
      std::memset(reinterpret_cast<std::uint32_t*>(out + jp * kc) + pairs * NR, 0,
                  static_cast<std::size_t>((padded - pairs) * NR) * 4);
  }
};

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END

#endif  // TESSEL_HAVE_X86_TARGETS
