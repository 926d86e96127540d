// tessel/gemm/driver.hpp — the loop nest around the micro-kernel (BLIS's layers 1–4).
//
// The output is cut into independent work units, one per (batch g, mc-row block, nc-column
// block). A unit owns its C block from start to end:
//
//   for pc over k in steps of kc:              (the reduction: never split across threads)
//     pack B[pc, jc block]  -> kc×nc panels     (this thread's workspace)
//     pack A[ic block, pc]  -> mc×kc panels
//     for jr, ir over micro-tiles:  fp32 block (=|+=) A panel · B panel   (the micro-kernel,
//                                   which meanwhile prefetches the next k block's A and B)
//   store the fp32 block to C once: convert to T, round once, optionally add C, stream
//
// Threads (OpenMP) take whole units, so every C element is computed by one thread in one
// fixed order: results are bit-identical for any thread count. C is written exactly once
// and never read unless accumulating; when C is far larger than the caches the store uses
// non-temporal stores, which on some of our machines write three times faster than
// ordinary ones.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstdint>

#include "../core/parallel.hpp"
#include "../core/threads.hpp"
#include "../simd/target.hpp"
#include "block_prefetch.hpp"
#include "blocking.hpp"
#include "pack.hpp"
#include "partition.hpp"
#include "problem.hpp"
#include "store.hpp"
#include "workspace.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// A kernel may pack its panels its own way (e.g. bfloat16 pairs along k for vdpbf16ps) by
// defining static pack_a / pack_b with the signatures of gemm/pack.hpp's; the panels still
// live in the float buffers of the workspace, which must be large enough (one float per
// element). Otherwise the fp32 packing of pack.hpp is used.
template <class Kernel, class T>
inline void kernel_pack_a(const Operand<const T>& a, std::int64_t g, std::int64_t i0, std::int64_t rows,
                          std::int64_t p0, std::int64_t kc, float* out) {
  if constexpr (requires { Kernel::template pack_a<T>(a, g, i0, rows, p0, kc, out); })
    Kernel::template pack_a<T>(a, g, i0, rows, p0, kc, out);
  else
    pack_a<Kernel::isa, Kernel::MR>(a, g, i0, rows, p0, kc, out);
}
template <class Kernel, class T>
inline void kernel_pack_b(const Operand<const T>& b, std::int64_t g, std::int64_t p0, std::int64_t kc,
                          std::int64_t j0, std::int64_t nc, float* out) {
  if constexpr (requires { Kernel::template pack_b<T>(b, g, p0, kc, j0, nc, out); })
    Kernel::template pack_b<T>(b, g, p0, kc, j0, nc, out);
  else
    pack_b<Kernel::isa, Kernel::NR>(b, g, p0, kc, j0, nc, out);
}

// A kernel may choose its own cache blocks (e.g. deeper kc for bfloat16 pairs, whose
// panels take half the bytes) with a static blocking(m, n, k, cpu) returning a Blocking;
// otherwise make_blocking sizes fp32 panels for its MR×NR tile.
template <class Kernel>
inline Blocking kernel_blocking(std::int64_t m, std::int64_t n, std::int64_t k, const CpuFeatures& cpu) {
  if constexpr (requires { { Kernel::blocking(m, n, k, cpu) } -> std::same_as<Blocking>; })
    return Kernel::blocking(m, n, k, cpu);
  else
    return make_blocking(Kernel::MR, Kernel::NR, m, n, k, cpu);
}

// Whether Kernel can check its packed panels for inputs it cannot compute exactly
// (packed_a_has_tiny / packed_b_has_tiny: bfloat16 values vdpbf16ps would flush), for
// run_gemm's guarded mode.
template <class Kernel>
inline constexpr bool kernel_guards_panels = requires(const float* f) {
  { Kernel::packed_a_has_tiny(f, std::int64_t{}) } -> std::same_as<bool>;
  { Kernel::packed_b_has_tiny(f, std::int64_t{}, std::int64_t{}) } -> std::same_as<bool>;
};

// Whether Kernel's run can prefetch the unit's next k block as it computes (its optional
// BlockPrefetch* argument; gemm/block_prefetch.hpp).
template <class Kernel>
inline constexpr bool kernel_prefetches_next_block =
    requires(float* f, BlockPrefetch* next) { Kernel::run(std::int64_t{}, f, f, f, std::int64_t{}, bool{}, next); };

// Whether Kernel's own pack_a wants a whole block of A at once when A is contiguous along m.
template <class Kernel>
inline constexpr bool kernel_packs_k_major_a_block = [] {
  if constexpr (requires { Kernel::packs_k_major_a_block; }) return Kernel::packs_k_major_a_block;
  else return false;
}();

// Whether Kernel can write the previous tile to C while computing the next (run_store).
template <class Kernel, class T>
inline constexpr bool kernel_spreads_stores = [] {
  if constexpr (requires { requires Kernel::template spread_store<T>; }) return true;
  else return false;
}();

// Whether Cᵀ = Bᵀ·Aᵀ fills the MR×NR tiles enough better to pay for packing the other way:
// m = 30 rows pad to 42 in 14-row tiles but to 32 in 32-column ones. Only for a long k,
// where storing C (then along its columns) is a small part of the work, and only for a
// large gain: transposed, the large operand of dW = A3ᵀ·dO3 (m = 64, which 14-row tiles pad
// to 70: 9 % of fill) becomes an A contiguous along m, whose packing cost more than the
// padding (measured with the next-k-block prefetch: importance forward+backward on W4a
// 6 % faster in fp32 and 16 % in float16 as given). Depends on the shape only.
inline bool transpose_pays(int mr, int nr, std::int64_t m, std::int64_t n, std::int64_t k) {
  if (k < 256 || m <= 0 || n <= 0) return false;
  auto fill = [](std::int64_t x, std::int64_t r) { return double(x) / double((x + r - 1) / r * r); };
  return fill(n, mr) * fill(m, nr) > 1.15 * fill(m, mr) * fill(n, nr);
}

// Whether run_gemm may run a problem transposed with Kernel: unless it says otherwise
// (static constexpr bool may_run_transposed = false, with the reason).
template <class Kernel>
inline constexpr bool kernel_may_run_transposed = [] {
  if constexpr (requires { Kernel::may_run_transposed; }) return Kernel::may_run_transposed;
  else return true;
}();

// What partitioning needs to know of p run with Kernel.
template <class Kernel, class T, class TC>
GemmShape gemm_shape(const GemmProblem<T, TC>& p) {
  return GemmShape{p.batch, p.m, p.n, p.k, Kernel::MR, Kernel::NR, std::int64_t(sizeof(T)), std::int64_t(sizeof(TC)),
                   p.epilogue.reads_c()};
}

// The plan of p run as given on Kernel, with `available_threads` threads.
template <class Kernel, class T, class TC>
GemmPlan plan_as_given(const GemmProblem<T, TC>& p, const CpuFeatures& cpu, int available_threads) {
  return plan_gemm(gemm_shape<Kernel>(p), kernel_blocking<Kernel>(p.m, p.n, p.k, cpu), cpu, available_threads);
}

// Runs p as given (run_gemm below may run it transposed). Guarded (a kernel with
// kernel_guards_panels): every packed panel is checked, and the first that holds a value
// the kernel cannot take stops the call, which then returns false with C partly written;
// otherwise, and unguarded, it returns true. Which panels are packed depends on the inputs
// and the blocking only, so the answer does not depend on the thread count.
template <class Kernel, class T, class TC>
bool run_gemm_as_given(const GemmProblem<T, TC>& p, bool guarded = false) {
  constexpr int MR = Kernel::MR, NR = Kernel::NR;
  constexpr Isa I = Kernel::isa;
  constexpr bool kSpread = kernel_spreads_stores<Kernel, TC>;
  if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return true;
  if constexpr (!kernel_guards_panels<Kernel>) guarded = false;
  std::atomic<bool> rejected{false};  // guarded: a packed panel failed the check
  const CpuFeatures& cpu = cpu_features();
  const GemmPlan plan = plan_as_given<Kernel>(p, cpu, threads_for_call(p.threads, p.batch * p.m * p.n));
  const Blocking& bk = plan.bk;
  const int threads = plan.threads;
  const Epilogue<T>& epilogue = p.epilogue;
  const float beta = epilogue.beta;
  const bool stream = plan.stream, keep_b = plan.keep_b, a_prefetch_l2 = plan.a_prefetch_l2;
  const std::int64_t ldc = plan.ldc;
  const std::uint64_t call = next_call_id();
  auto do_unit = [&](Workspace& ws, std::int64_t u) {
    if (guarded && rejected.load(std::memory_order_relaxed)) return;  // the call is stopping
    const WorkUnit w = work_unit(plan, u);
    const std::int64_t g = w.g, jb = w.jb, i0 = w.i0, mc = w.rows, j0 = w.j0, nc = w.cols;
    const std::int64_t mc_pad = round_up(mc, MR), nc_pad = round_up(nc, NR);
    if (p.k == 0) {
      float* cbuf = ws.c.floats(mc_pad * ldc + epilogue_floats(mc, nc));
      for (std::int64_t r = 0; r < mc; ++r) std::fill(cbuf + r * ldc, cbuf + r * ldc + nc, 0.0f);
      const EpilogueBlock epi = prepare_epilogue(epilogue, i0, mc, j0, nc, cbuf + mc_pad * ldc);
      if (epi.active) apply_epilogue<I>(cbuf, ldc, mc, nc, epi, 0, 0);
      store_block<I>(cbuf, ldc, mc, nc, p.c, g, i0, j0, beta, stream);
      return;
    }
    // With one k block the tiles of a row panel go from the kernel to C through an MR-row
    // strip buffer; with several, the unit keeps an fp32 block and the last k block stores.
    const bool one_block = bk.k_blocks == 1;
    // (16 floats in front: a pending head vector may start up to 15 columns before the strip.)
    const std::int64_t cbuf_floats = (one_block ? MR : mc_pad) * ldc;
    float* cbuf = ws.c.floats(16 + cbuf_floats + epilogue_floats(mc, nc)) + 16;
    const EpilogueBlock epi = prepare_epilogue(epilogue, i0, mc, j0, nc, cbuf + cbuf_floats);
    // Spread stores (kSpread): each tile's results are written to C while the next tile
    // computes, as whole 16-value vectors aligned in C (so they can be non-temporal even when
    // C's rows are not aligned): the `done` columns of a panel's strip are in C or pending,
    // the first h (up to the first aligned column) and the last few go out ordinarily.
    const bool spread = kSpread && p.c.cols.is_unit() && !epilogue.reads_c();
    TC* const c_base = p.c.matrix(g);
    PendingTile<TC, MR> pending;
    // B's column block is packed once for all k when it is small enough (keep_b), at
    // offset p0·nc_pad for the k block at p0, and kept for the thread's next units.
    float* const bfull = keep_b ? ws.b.floats(nc_pad * p.k) : nullptr;
    const bool have_b = keep_b && ws.b_call == call && ws.b_g == g && ws.b_jb == jb;
    if (keep_b) ws.b_call = 0;  // invalid until packed
    for (std::int64_t p0 = 0; p0 < p.k; p0 += bk.kc) {
      const std::int64_t kc = std::min(bk.kc, p.k - p0);
      const bool last = p0 + kc >= p.k;
      float* bp = keep_b ? bfull + p0 * nc_pad : ws.b.floats(nc_pad * kc);
      if (!have_b) kernel_pack_b<Kernel>(p.b, g, p0, kc, j0, nc, bp);
      if constexpr (kernel_guards_panels<Kernel>) {
        // (A rejected unit leaves its pending tile unwritten and its B block unkept.)
        if (guarded && !have_b && Kernel::packed_b_has_tiny(bp, nc, kc)) return rejected.store(true);
      }
      // A is packed one MR-row panel at a time, right before its row of tiles, while the
      // next panel's rows are prefetched: the panel stays in L1 and A's memory reads overlap
      // the arithmetic. Except a transposed A (contiguous along m) on the fp32 panels, or
      // with a kernel whose own packing asks for it (packs_k_major_a_block): its whole block
      // is packed at once, so that each of its k lines is read start to end (pack.hpp:
      // pack_lines); panel by panel, lines a multiple of 4 KiB apart fall in one L1 set and
      // each panel fetched them again.
      constexpr bool kFp32Panels = !requires { Kernel::template pack_a<T>(p.a, 0, 0, 0, 0, 0, nullptr); };
      constexpr bool kBlockOfLines = kFp32Panels ? I == Isa::avx512 : kernel_packs_k_major_a_block<Kernel>;
      const bool a_block = kBlockOfLines && p.a.rows.is_unit() && !p.a.cols.is_unit();
      float* const ablock = ws.a.floats((a_block ? mc_pad : MR) * kc);
      if (a_block) kernel_pack_a<Kernel>(p.a, g, i0, mc, p0, kc, ablock);
      // The next k block's A (and B, unless it is packed already) is fetched into L2 while this
      // one computes (gemm/block_prefetch.hpp).
      BlockPrefetch next_block;
      if constexpr (kernel_prefetches_next_block<Kernel>) {
        if (!last) {
          const std::int64_t q0 = p0 + kc, kn = std::min(bk.kc, p.k - q0);
          next_block.a = block_lines(p.a, g, i0, mc, q0, kn);
          if (!have_b) next_block.b = block_lines(p.b, g, q0, kn, j0, nc);
        }
      }
      for (std::int64_t ir = 0; ir < mc_pad; ir += MR) {
        const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);
        const float* const ap = a_block ? ablock + ir * kc : ablock;
        if (!a_block) {
          kernel_pack_a<Kernel>(p.a, g, i0 + ir, rows, p0, kc, ablock);
          if (ir + MR < mc)
            prefetch_a(p.a, g, i0 + ir + MR, std::min<std::int64_t>(MR, mc - ir - MR), p0, kc, a_prefetch_l2);
        }
        if constexpr (kernel_guards_panels<Kernel>) {
          if (guarded && Kernel::packed_a_has_tiny(ap, kc)) return rejected.store(true);
        }
        float* const strip = one_block ? cbuf : cbuf + ir * ldc;
        if constexpr (kSpread) {
          if (spread && last) {
            TC* crow[MR];
            std::int64_t h = 0;  // the first column (from j0) where C's rows are vector-aligned
            bool nt = stream;
            for (int r = 0; r < rows; ++r) {
              crow[r] = c_base + p.c.rows.offset(i0 + ir + r) + j0;
              const auto addr = reinterpret_cast<std::uintptr_t>(crow[r]);
              const auto hr = static_cast<std::int64_t>((16 - addr / sizeof(TC) % 16) % 16);
              if (r == 0) h = hr;
              if (hr != h || addr % sizeof(TC) != 0) nt = false;
            }
            if (!nt) h = 0;
            // Vectors lie on the grid g0 + 16·q (aligned in C when nt); the columns before
            // `done` are stored or pending.
            const std::int64_t g0 = h > 0 ? h - 16 : 0;
            std::int64_t done = 0;
            for (std::int64_t jr = 0; jr < nc_pad; jr += NR) {
              const std::int64_t avail = std::min<std::int64_t>(nc, jr + NR);
              Kernel::template run_store<TC>(kc, ap, bp + jr * kc, strip + jr, ldc, p0 > 0, pending);
              pending.nv = 0;
              if (epi.active) apply_epilogue<I>(strip + jr, ldc, rows, avail - jr, epi, ir, jr);
              const std::int64_t e = jr + NR >= nc_pad ? avail : g0 + (avail - g0) / 16 * 16;
              if (e > done) {
                const std::int64_t vs = g0 + (done - g0) / 16 * 16;
                const auto nv = static_cast<int>((e - vs + 15) / 16);
                pending.src = strip + vs, pending.ld = ldc, pending.rows = static_cast<int>(rows), pending.nv = nv;
                pending.head = (0xffffu << (done - vs)) & 0xffffu;
                pending.tail = 0xffffu >> (16 * nv - (e - vs));
                pending.stream = nt;
                for (int r = 0; r < rows; ++r) pending.dst[r] = crow[r] + vs;
                done = e;
              }
            }
            continue;
          }
        }
        for (std::int64_t jr = 0; jr < nc_pad; jr += NR) {
          const std::int64_t cols = std::min<std::int64_t>(NR, nc - jr);
          if constexpr (kernel_prefetches_next_block<Kernel>)
            Kernel::run(kc, ap, bp + jr * kc, strip + jr, ldc, !one_block && p0 > 0, last ? nullptr : &next_block);
          else
            Kernel::run(kc, ap, bp + jr * kc, strip + jr, ldc, !one_block && p0 > 0);
          if (last) {
            if (epi.active) apply_epilogue<I>(strip + jr, ldc, rows, cols, epi, ir, jr);
            store_block<I>(strip + jr, ldc, rows, cols, p.c, g, i0 + ir, j0 + jr, beta, stream);
          }
        }
      }
    }
    if (keep_b) ws.b_call = call, ws.b_g = g, ws.b_jb = jb;
    if constexpr (kSpread) Kernel::template flush<TC>(pending);
  };

  // (Each thread's non-temporal stores are fenced by that thread, at the end of its unit.)
  parallel_for_dynamic(threads, plan.units, [&](std::int64_t u) {
    do_unit(thread_workspace(), u);
    if (stream) streaming_store_fence();
  });
  return !rejected.load();
}

// Whether run_gemm runs p on Kernel transposed.
template <class Kernel, class T, class TC>
bool runs_transposed(const GemmProblem<T, TC>& p) {
  return kernel_may_run_transposed<Kernel> && transpose_pays(Kernel::MR, Kernel::NR, p.m, p.n, p.k);
}

// The plan run_gemm follows for p on Kernel with `available_threads` threads (that of the
// transposed problem when it runs transposed): what tests and load-balance models read.
template <class Kernel, class T, class TC>
GemmPlan plan_for(const GemmProblem<T, TC>& p, const CpuFeatures& cpu, int available_threads) {
  return runs_transposed<Kernel>(p) ? plan_as_given<Kernel>(transposed(p), cpu, available_threads)
                                    : plan_as_given<Kernel>(p, cpu, available_threads);
}

// Runs p, as given or transposed (transpose_pays); guarded: see run_gemm_as_given.
template <class Kernel, class T, class TC>
bool run_gemm(const GemmProblem<T, TC>& p, bool guarded = false) {
  if (runs_transposed<Kernel>(p)) return run_gemm_as_given<Kernel>(transposed(p), guarded);
  return run_gemm_as_given<Kernel>(p, guarded);
}

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END
