// tessel/gemm/driver.hpp — the loop nest around the micro-kernel (BLIS's layers).
//
//   run_gemm                    as given, or as Cᵀ = Bᵀ·Aᵀ when that fills the tiles better
//   GemmCall::run               the plan (gemm/partition.hpp), then its units across threads
//   GemmCall::unit              one unit (batch g, mc rows, nc columns of C, which it owns):
//                               the k loop — pack (or reuse) B's column block, pack A's block
//                               when it is packed whole, fetch the next k block — with
//     GemmCall::macro_kernel    per k block: ir over MR-row panels of A (each packed right
//                               before its row of tiles, the next one prefetched), jr over
//                               NR-column panels of B, the micro-kernel per tile (between
//                               tiles, the next k block of B packed piece by piece); on the last
//                               k block the epilogue and the store of each tile
//                               (gemm/store.hpp), or the kernel writes C itself:
//     GemmCall::direct_strip    each whole tile from its registers, the earlier k blocks'
//                               sums and the epilogue added there
//
// Threads (OpenMP) take whole units, so every C element is computed by one thread in one
// fixed order: results are bit-identical for any thread count. C is written exactly once and
// never read unless β != 0; when C is far larger than the caches the store uses non-temporal
// stores, which on some of our machines write three times faster than ordinary ones.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "../core/parallel.hpp"
#include "../core/threads.hpp"
#include "../simd/convert.hpp"
#include "../simd/target.hpp"
#include "block_prefetch.hpp"
#include "blocking.hpp"
#include "kernel_contract.hpp"
#include "pack.hpp"
#include "partition.hpp"
#include "problem.hpp"
#include "store.hpp"
#include "workspace.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {
TESSEL_SIMD_CODE_BEGIN

// Whether Cᵀ = Bᵀ·Aᵀ fills the MR×NR tiles enough better to pay for packing the other way:
// m = 30 rows pad to 42 in 14-row tiles but to 32 in 32-column ones. Only for a long k,
// where storing C (then along its columns) is a small part of the work, and only for a
// large gain: transposed, the large operand of dW = A3ᵀ·dO3 (m = 64, which 14-row tiles pad
// to 70: 9 % of fill) becomes an A contiguous along m, whose packing costs more than the
// padding. Depends on the shape only.
inline bool transpose_pays(int mr, int nr, std::int64_t m, std::int64_t n, std::int64_t k) {
  if (k < 256 || m <= 0 || n <= 0) return false;
  auto fill = [](std::int64_t x, std::int64_t r) { return double(x) / double((x + r - 1) / r * r); };
  return fill(n, mr) * fill(m, nr) > 1.15 * fill(m, mr) * fill(n, nr);
}

// What partitioning needs to know of p run with Kernel.
template <class Kernel, class T, class TC>
GemmShape gemm_shape(const GemmProblem<T, TC>& p) {
  // (In elements: a stride times the element size could overflow.)
  const std::int64_t row_stride = p.a.rows.stride[p.a.rows.dims - 1];
  const std::int64_t period = kL1SetPeriod / std::int64_t(sizeof(T));
  const bool rows_share_sets = p.a.cols.is_unit() && row_stride != 0 && row_stride % period == 0;
  return GemmShape{p.batch, p.m, p.n, p.k, Kernel::MR, Kernel::NR, std::int64_t(sizeof(T)), std::int64_t(sizeof(TC)),
                   p.epilogue.reads_c(), rows_share_sets};
}

// Whether Kernel packs the k blocks of p's B after the first in pieces (kernel_contract.hpp:
// packs_b_in_pieces; B's rows contiguous along n; the pieces' lines are fetched as
// prefetches_next_block kernels fetch the next block): GemmCall::macro_kernel.
template <class Kernel, class T, class TC>
bool packs_b_in_pieces(const GemmProblem<T, TC>& p) {
  constexpr KernelFeatures F = Kernel::features;
  return F.packs_b_in_pieces && F.prefetches_next_block && p.b.cols.is_unit();
}

// The plan of p run as given with Config (a kernel and its block limits, gemm/paths.hpp).
template <class Config, class T, class TC>
GemmPlan plan_as_given(const GemmProblem<T, TC>& p, const CpuFeatures& cpu, int available_threads) {
  using Kernel = typename Config::Kernel;
  // What of the next k block L2 holds per element while a block computes: its raw lines
  // fetched ahead, or (packed in pieces) its packed panels.
  const std::int64_t prefetched_bytes = !Kernel::features.prefetches_next_block ? 0
                                        : packs_b_in_pieces<Kernel>(p)          ? Config::limits.panel_bytes
                                                                                : std::int64_t(sizeof(T));
  return plan_gemm(gemm_shape<Kernel>(p),
                   make_blocking(Kernel::MR, Kernel::NR, Config::limits, p.m, p.n, p.k, cpu, prefetched_bytes), cpu,
                   available_threads);
}

// One call of the engine on one kernel: the problem, its plan, and the per-call state its
// units share.
template <class Config, class T, class TC>
class GemmCall {
  using Kernel = typename Config::Kernel;
  static_assert(check_micro_kernel<Kernel, T>());
  static constexpr int MR = Kernel::MR, NR = Kernel::NR;
  static constexpr Isa I = Kernel::isa;
  static constexpr KernelFeatures F = Kernel::features;
  static constexpr bool kDirect = writes_output_of<Kernel, TC>();

 public:
  // checked (a kernel with features.checks_panels): every packed panel is checked, and the
  // first that holds a value the kernel cannot take stops the call.
  GemmCall(const GemmProblem<T, TC>& p, const GemmPlan& plan, bool checked)
      : p_(p), plan_(plan), checked_(F.checks_panels && checked), call_(next_call_id()) {}

  // Runs every unit; false when the check stopped the call (C then partly written). Which
  // panels are packed depends on the inputs and the blocking only, so the answer does not
  // depend on the thread count.
  bool run() {
    // (Each thread's non-temporal stores are fenced by that thread, at the end of its unit.)
    parallel_for_dynamic(plan_.threads, plan_.units, [&](std::int64_t u) {
      unit(thread_workspace(), u);
      if (plan_.stream) streaming_store_fence();
    });
    return !rejected_.load();
  }

 private:
  // The state of the unit in progress.
  struct Unit {
    WorkUnit w;
    std::int64_t mc_pad = 0, nc_pad = 0;
    float* cbuf = nullptr;  // the fp32 block (several k blocks) or one MR-row strip (one)
    EpilogueBlock epi;
    bool direct = false;    // whole tiles go to C from the kernel's registers (run_output)
  };

  // Unit u: the k loop. Stops early (leaving C partly written) once the check rejected.
  void unit(Workspace& ws, std::int64_t u) {
    if (checked_ && rejected_.load(std::memory_order_relaxed)) return;  // the call is stopping
    Unit un;
    un.w = work_unit(plan_, u);
    const std::int64_t mc = un.w.rows, nc = un.w.cols;
    un.mc_pad = round_up(mc, MR), un.nc_pad = round_up(nc, NR);
    if (p_.k == 0) return empty_sum_unit(ws, un);
    const KernelStateScope<Kernel> kernel_state;  // e.g. AMX tiles: released when the unit ends
    const Blocking& bk = plan_.bk;
    const std::int64_t ldc = plan_.ldc;
    // With one k block the tiles of a row panel go from the kernel to C through an MR-row
    // strip buffer; with several, the unit keeps an fp32 block and the last k block stores.
    const std::int64_t block_floats = (bk.k_blocks == 1 ? MR : un.mc_pad) * ldc;
    un.cbuf = ws.c.floats(block_floats + epilogue_floats(mc, nc));
    un.epi = prepare_epilogue(p_.epilogue, un.w.i0, mc, un.w.j0, nc, un.cbuf + block_floats);
    // Unless C is read (β != 0), whole tiles of the last k block go from the kernel's
    // registers to C, the fp32 block's earlier sums and the epilogue added there, without a
    // round trip through the buffer.
    un.direct = kDirect && p_.c.cols.is_unit() && !p_.epilogue.reads_c();
    // B's column block is packed once for all k when units share it and it is small enough
    // (keep_b), at offset p0·nc_pad for the k block at p0, and kept for the thread's next units.
    const bool keep_b = plan_.keep_b;
    const bool have_b = keep_b && ws.b_call == call_ && ws.b_g == un.w.g && ws.b_jb == un.w.jb;
    // Every k block after the first is packed in pieces while the block before it computes
    // (macro_kernel; packs_b_in_pieces), into its place in the kept block or into the other
    // of two block buffers.
    const bool pieces = !have_b && bk.k_blocks > 1 && packs_b_in_pieces<Kernel>(p_);
    float* const bbuf = ws.b.floats(un.nc_pad * (keep_b ? p_.k : bk.kc * (pieces ? 2 : 1)));
    auto block_of_b = [&](std::int64_t p0) {
      return keep_b ? bbuf + p0 * un.nc_pad : bbuf + (pieces ? p0 / bk.kc % 2 : 0) * un.nc_pad * bk.kc;
    };
    if (keep_b) ws.b_call = 0;  // invalid until packed
    for (std::int64_t p0 = 0; p0 < p_.k; p0 += bk.kc) {
      const std::int64_t kc = std::min(bk.kc, p_.k - p0);
      float* const bp = block_of_b(p0);
      if (!have_b) {
        if (!pieces || p0 == 0) pack_b_panels(p0, kc, un.w, bp);
        // (A rejected unit leaves its B block unkept.)
        if (rejects_b(bp, nc, kc)) return rejected_.store(true);
      }
      float* const b_next = pieces && p0 + kc < p_.k ? block_of_b(p0 + kc) : nullptr;
      if (!macro_kernel(ws, un, p0, kc, bp, have_b, b_next)) return rejected_.store(true);
    }
    if (keep_b) ws.b_call = call_, ws.b_g = un.w.g, ws.b_jb = un.w.jb;
  }

  // k = 0: C = epilogue(0) (the bias, or zeros; β·C).
  void empty_sum_unit(Workspace& ws, Unit& un) {
    const std::int64_t ldc = plan_.ldc, mc = un.w.rows, nc = un.w.cols;
    float* cbuf = ws.c.floats(MR * ldc + epilogue_floats(mc, nc));
    std::fill(cbuf, cbuf + MR * ldc, 0.0f);
    un.epi = prepare_epilogue(p_.epilogue, un.w.i0, mc, un.w.j0, nc, cbuf + MR * ldc);
    for (std::int64_t ir = 0; ir < mc; ir += MR) {
      const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);
      if (un.epi.active) {
        std::fill(cbuf, cbuf + MR * ldc, 0.0f);
        apply_epilogue<I>(cbuf, ldc, rows, nc, un.epi, ir, 0);
      }
      TC* crow[MR];
      c_rows(un, ir, rows, crow);
      store_rows<I>(cbuf, ldc, rows, nc, crow, p_.c.cols, un.w.j0, p_.epilogue.beta, plan_.stream);
    }
  }

  // The macro-kernel of k block [p0, p0 + kc): every tile of the unit, and with b_next (not
  // the last block) the packing of the next k block of B there, in pieces between the tiles.
  // false: rejected.
  bool macro_kernel(Workspace& ws, Unit& un, std::int64_t p0, std::int64_t kc, const float* bp, bool have_b,
                    float* b_next) {
    const WorkUnit& w = un.w;
    const std::int64_t mc = w.rows, ldc = plan_.ldc;
    const bool first = p0 == 0, last = p0 + kc >= p_.k, one_block = plan_.bk.k_blocks == 1;
    // A is packed one MR-row panel at a time, right before its row of tiles, while the next
    // panel's rows are prefetched: the panel stays in L1 and A's memory reads overlap the
    // arithmetic. Except an A contiguous along m with a kernel that packs such an A a block
    // at a time (features.packs_a_block_of_lines): each of its k lines is then read start to
    // end once (pack.hpp: pack_lines); panel by panel, lines a multiple of 4 KiB apart fall in
    // one L1 set and each panel fetched them again.
    const bool a_block = F.packs_a_block_of_lines && p_.a.rows.is_unit() && !p_.a.cols.is_unit();
    float* const ablock = ws.a.floats((a_block ? un.mc_pad : MR) * kc);
    if (a_block) pack_a_panels(w.i0, mc, p0, kc, w.g, ablock);
    // What of the next k block is fetched while this one computes. Only what is packed as a
    // block: an A panel packed panel by panel comes with the prefetch of the panel before it
    // (prefetch_next_panel), so fetching its whole block as well, a block ahead, only kept
    // more lines in flight. With B in pieces, each piece's lines (and the A lines of the
    // same k, when A is packed as a block) are fetched in one burst after the piece before
    // it is packed, a tile ahead of their use. Otherwise (B not in pieces) the kernel fetches
    // the next block's lines one per step of its k loop (gemm/block_prefetch.hpp).
    BlockPrefetch next_block;
    NextBlockPieces pieces;
    if constexpr (F.prefetches_next_block) {
      if (!last) {
        const std::int64_t q0 = p0 + kc, kn = std::min(plan_.bk.kc, p_.k - q0);
        if (b_next != nullptr) {
          pieces = NextBlockPieces(q0, kn, un.mc_pad / MR * (un.nc_pad / NR), b_next, a_block);
          fetch_piece(pieces, w);
        } else {
          if (a_block) next_block.a = block_lines(p_.a, w.g, w.i0, mc, q0, kn);
          if (!have_b) next_block.b = block_lines(p_.b, w.g, q0, kn, w.j0, w.cols);
        }
      }
    }
    for (std::int64_t ir = 0; ir < un.mc_pad; ir += MR) {
      const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);
      const float* const ap = a_block ? ablock + ir * kc : ablock;
      if (!a_block) {
        pack_a_panels(w.i0 + ir, rows, p0, kc, w.g, ablock);
        if (ir + MR < mc) prefetch_next_panel(un, next_block, w.i0 + ir + MR, std::min<std::int64_t>(MR, mc - ir - MR), p0, kc);
      }
      if (rejects_a(ap, kc)) return false;
      float* const strip = one_block ? un.cbuf : un.cbuf + ir * ldc;
      const bool accumulate = !one_block && !first;
      if (!last) {
        for (std::int64_t jr = 0; jr < un.nc_pad; jr += NR) {
          tile(rows, kc, ap, bp + jr * kc, strip + jr, accumulate, &next_block);
          if (pieces.active()) pack_piece(pieces, w);
        }
        continue;
      }
      TC* crow[MR];
      c_rows(un, ir, rows, crow);
      if constexpr (kDirect) {
        if (un.direct) {
          direct_strip(un, kc, ap, bp, strip, ir, rows, crow, accumulate, next_block);
          continue;
        }
      }
      for (std::int64_t jr = 0; jr < un.nc_pad; jr += NR) {
        tile(rows, kc, ap, bp + jr * kc, strip + jr, accumulate, next_block.done() ? nullptr : &next_block);
        const std::int64_t cols = std::min<std::int64_t>(NR, w.cols - jr);
        if (un.epi.active) apply_epilogue<I>(strip + jr, ldc, rows, cols, un.epi, ir, jr);
        store_rows<I>(strip + jr, ldc, rows, cols, crow, p_.c.cols, w.j0 + jr, p_.epilogue.beta, plan_.stream);
      }
    }
    while (pieces.active()) pack_piece(pieces, w);  // (never: at most one piece per tile)
    return true;
  }

  // The next k block of B packed in pieces of rows, one after each tile of the current block
  // (at most one piece per tile, so the last is packed by the block's last tile). Why: the
  // block's lines come from memory (dW = Aᵀ·dO reads each row of dO once per unit), and
  // fetched by the kernel a block ahead, one line per k step, they kept so many misses in
  // flight when memory was slow (a shared host) that the kernel's own L2 reads waited behind
  // them; and its rows, often a large power of two apart, fall in few L2 sets, where a whole
  // block of them evicts itself. A piece is a few KiB: its lines, fetched in one burst a tile
  // ahead, are in L2 when it is packed.
  struct NextBlockPieces {
    std::int64_t q0 = 0, kn = 0;  // the next block's first k and depth
    std::int64_t rows = 0;        // k rows per piece: whole k pairs, kn in at most `tiles` pieces
    std::int64_t packed = 0;      // rows packed so far
    float* out = nullptr;         // the next block's B panels
    bool a_lines = false;         // fetch the A lines of each piece's k too (A packed as a block)
    NextBlockPieces() = default;
    NextBlockPieces(std::int64_t q0_, std::int64_t kn_, std::int64_t tiles, float* out_, bool a_lines_)
        : q0(q0_), kn(kn_), rows(round_up((kn_ + tiles - 1) / std::max<std::int64_t>(tiles, 1), 2)), out(out_),
          a_lines(a_lines_) {}
    bool active() const { return packed < kn; }
  };
  // Fetches the lines of the piece after the packed rows (B's, and A's of the same k).
  void fetch_piece(const NextBlockPieces& pc, const WorkUnit& w) const {
    const std::int64_t r0 = pc.packed, r1 = std::min(pc.kn, r0 + pc.rows);
    if (r1 <= r0) return;
    for (LineRuns l = block_lines(p_.b, w.g, pc.q0 + r0, r1 - r0, w.j0, w.cols); !l.done();) l.next();
    if (pc.a_lines)
      for (LineRuns l = block_lines(p_.a, w.g, w.i0, w.rows, pc.q0 + r0, r1 - r0); !l.done();) l.next();
  }
  // Packs the next piece, then fetches the one after it.
  void pack_piece(NextBlockPieces& pc, const WorkUnit& w) {
    const std::int64_t r1 = std::min(pc.kn, pc.packed + pc.rows);
    pack_b_piece(pc.q0, pc.kn, pc.packed, r1, w, pc.out);
    pc.packed = r1;
    fetch_piece(pc, w);
  }

  // The next A panel's rows (i0 .. i0 + rows, k block at p0), fetched while the current
  // panel's row of tiles computes: into L2 spread over the row's kernel steps when the
  // kernel takes a BlockPrefetch on that row and the panel is large (block_prefetch.hpp),
  // else in one burst now (into L1 when it is small).
  void prefetch_next_panel(const Unit& un, BlockPrefetch& pf, std::int64_t i0, std::int64_t rows, std::int64_t p0,
                           std::int64_t kc) const {
    if constexpr (F.prefetches_next_block) {
      if (plan_.a_prefetch_l2 && p_.a.cols.is_unit()) {
        pf.panel = block_lines(p_.a, un.w.g, i0, rows, p0, kc);
        const std::int64_t lines = rows * ((kc * static_cast<std::int64_t>(sizeof(T)) + 63) / 64 + 1);
        const std::int64_t steps = std::max<std::int64_t>(1, un.nc_pad / NR * Kernel::prefetch_steps(kc));
        pf.rate = (lines + steps - 1) / steps;
        return;
      }
    }
    prefetch_a(p_.a, un.w.g, i0, rows, p0, kc, plan_.a_prefetch_l2);
  }

  // The last k block of one MR-row strip (rows ir.. of the unit) with direct stores: whole
  // tiles by run_output, which adds the strip's earlier sums (accumulate) and the epilogue;
  // edge tiles (fewer rows or columns) through the strip buffer, the epilogue and the store.
  void direct_strip(const Unit& un, std::int64_t kc, const float* ap, const float* bp, float* strip, std::int64_t ir,
                    std::int64_t rows, TC* const* crow, bool accumulate, BlockPrefetch& next) {
    OutputTile<TC, MR> out{crow, 0, plan_.stream};
    out.ldp = plan_.ldc;
    out.alpha = un.epi.alpha;
    out.epilogue = un.epi.active;
    if (un.epi.bias_rows != nullptr) out.bias_rows = un.epi.bias_rows + ir;
    for (std::int64_t jr = 0; jr < un.nc_pad; jr += NR) {
      BlockPrefetch* const pf = next.done() ? nullptr : &next;
      const std::int64_t cols = std::min<std::int64_t>(NR, un.w.cols - jr);
      if (rows == MR && cols == NR) {
        out.j0 = un.w.j0 + jr;
        if (accumulate) out.partial = strip + jr;
        if (un.epi.bias_cols != nullptr) out.bias_cols = un.epi.bias_cols + jr;
        if constexpr (F.prefetches_next_block) Kernel::template run_output<TC>(kc, ap, bp + jr * kc, out, pf);
        else Kernel::template run_output<TC>(kc, ap, bp + jr * kc, out);
        continue;
      }
      tile(rows, kc, ap, bp + jr * kc, strip + jr, accumulate, pf);
      if (un.epi.active) apply_epilogue<I>(strip + jr, plan_.ldc, rows, cols, un.epi, ir, jr);
      store_rows<I>(strip + jr, plan_.ldc, rows, cols, crow, p_.c.cols, un.w.j0 + jr, 0.0f, plan_.stream);
    }
  }

  // One micro-tile of a panel with `rows` real rows; next: the unit's next k block to
  // prefetch meanwhile (null: none). A kernel with short_panels computes only those rows.
  void tile(std::int64_t rows, std::int64_t kc, const float* ap, const float* bp, float* c, bool accumulate,
            BlockPrefetch* next) const {
    if constexpr (F.short_panels) {
      if (rows < MR) return Kernel::run_rows(static_cast<int>(rows), kc, ap, bp, c, plan_.ldc, accumulate, next);
    }
    if constexpr (F.prefetches_next_block) Kernel::run(kc, ap, bp, c, plan_.ldc, accumulate, next);
    else Kernel::run(kc, ap, bp, c, plan_.ldc, accumulate);
  }

  // C's rows ir .. ir + rows of the unit, at C's column 0 (store_rows adds the columns).
  void c_rows(const Unit& un, std::int64_t ir, std::int64_t rows, TC** crow) const {
    TC* base = p_.c.matrix(un.w.g);
    for (std::int64_t r = 0; r < rows; ++r) crow[r] = base + p_.c.rows.offset(un.w.i0 + ir + r);
  }

  void pack_a_panels(std::int64_t i0, std::int64_t rows, std::int64_t p0, std::int64_t kc, std::int64_t g, float* out) {
    if constexpr (F.own_panels) Kernel::template pack_a<T>(p_.a, g, i0, rows, p0, kc, out);
    else pack_a<I, MR>(p_.a, g, i0, rows, p0, kc, out);
  }
  void pack_b_panels(std::int64_t p0, std::int64_t kc, const WorkUnit& w, float* out) {
    if constexpr (F.own_panels) Kernel::template pack_b<T>(p_.b, w.g, p0, kc, w.j0, w.cols, out);
    else pack_b<I, NR>(p_.b, w.g, p0, kc, w.j0, w.cols, out);
  }
  void pack_b_piece(std::int64_t p0, std::int64_t kc, std::int64_t r0, std::int64_t r1, const WorkUnit& w,
                    float* out) {
    if constexpr (F.packs_b_in_pieces) {
      if constexpr (F.own_panels) Kernel::template pack_b_piece<T>(p_.b, w.g, p0, kc, r0, r1, w.j0, w.cols, out);
      else detail::pack_b_piece<I, NR>(p_.b, w.g, p0, kc, r0, r1, w.j0, w.cols, out);
    }
  }
  bool rejects_a(const float* panel, std::int64_t kc) const {
    if constexpr (F.checks_panels) return checked_ && Kernel::a_panel_rejects(panel, kc);
    else return false;
  }
  bool rejects_b(const float* block, std::int64_t nc, std::int64_t kc) const {
    if constexpr (F.checks_panels) return checked_ && Kernel::b_block_rejects(block, nc, kc);
    else return false;
  }

  const GemmProblem<T, TC>& p_;
  const GemmPlan& plan_;
  const bool checked_;
  const std::uint64_t call_;
  std::atomic<bool> rejected_{false};
};

// Runs p as given with Config; checked: see GemmCall.
template <class Config, class T, class TC>
bool run_gemm_as_given(const GemmProblem<T, TC>& p, bool checked = false) {
  if (p.batch <= 0 || p.m <= 0 || p.n <= 0) return true;
  const GemmPlan plan = plan_as_given<Config>(p, cpu_features(), threads_for_call(p.threads, p.batch * p.m * p.n));
  return GemmCall<Config, T, TC>(p, plan, checked).run();
}

// Whether run_gemm runs p with Config transposed.
template <class Config, class T, class TC>
bool runs_transposed(const GemmProblem<T, TC>& p) {
  using Kernel = typename Config::Kernel;
  return Kernel::features.runs_transposed && transpose_pays(Kernel::MR, Kernel::NR, p.m, p.n, p.k);
}

// The plan run_gemm follows for p with `available_threads` threads (that of the transposed
// problem when it runs transposed): what tests and load-balance models read.
template <class Config, class T, class TC>
GemmPlan plan_for(const GemmProblem<T, TC>& p, const CpuFeatures& cpu, int available_threads) {
  return runs_transposed<Config>(p) ? plan_as_given<Config>(transposed(p), cpu, available_threads)
                                    : plan_as_given<Config>(p, cpu, available_threads);
}

// Runs p, as given or transposed; checked: see GemmCall.
template <class Config, class T, class TC>
bool run_gemm(const GemmProblem<T, TC>& p, bool checked = false) {
  if (runs_transposed<Config>(p)) return run_gemm_as_given<Config>(transposed(p), checked);
  return run_gemm_as_given<Config>(p, checked);
}

TESSEL_SIMD_CODE_END
}  // namespace detail
TESSEL_NAMESPACE_END
