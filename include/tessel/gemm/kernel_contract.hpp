// tessel/gemm/kernel_contract.hpp — what a micro-kernel is (BLIS's micro-kernel contract,
// docs/KernelsHowTo.md there), as a C++ concept, and the optional extensions a kernel may
// declare.
//
// Required of every kernel:
//   Kernel::isa       the path (simd/isa_registry.hpp) whose packing and conversion go with it
//   Kernel::MR, NR    the register tile
//   Kernel::features  a KernelFeatures: which optional extensions below it implements
//   Kernel::run(kc, Ap, Bp, C, ldc, accumulate)
//       C[i*ldc + j] (= or +=) Σ_{p < kc} Ap[p*MR + i] · Bp[p*NR + j]     i < MR, j < NR
//   * Ap, Bp are packed panels (gemm/pack.hpp's fp32 panels, or the kernel's own:
//     own_panels), 64-byte aligned and zero-padded, so the kernel always computes a whole
//     tile; kc >= 1.
//   * C is the driver's fp32 block buffer, never the user's output: rows are 64-byte aligned
//     (ldc is a multiple of 16). Edge tiles, the epilogue, the conversion to the output type
//     and streaming stores are the store's (gemm/store.hpp); a kernel that writes the output
//     itself does so only through the store's OutputTile (writes_output).
//   * With accumulate == false C is only written, never read.
//   * The sum runs over p in increasing order, in fp32 (or the pairs of own_panels, in pair
//     order); the result depends on nothing but (kc, Ap, Bp), so not on the thread count.
// Optional, each declared in `features` and then required (check_micro_kernel says which
// member is missing):
//   prefetches_next_block  run(..., accumulate, BlockPrefetch* next) also prefetches what
//                          the driver asks (the next A panel, the unit's next k block), one
//                          next->step() per step of its k loop (next may be null); same
//                          result; prefetch_steps(kc): how many steps a run of depth kc takes
//   writes_output          template <class TC> static constexpr bool output_store (the output
//                          types it can write) and run_output<TC>(kc, Ap, Bp, const
//                          OutputTile<TC, MR>&, BlockPrefetch* next): run() of a whole tile
//                          (accumulate == false) whose sums go from its registers straight to
//                          the output, row[i][j0 + j] = TC(epilogue(partial[i][j] + sum)) for
//                          i < MR, j < NR (the OutputTile says whether there is a partial sum
//                          or an epilogue), bit for bit what run() into the fp32 block, the
//                          epilogue and the store would write; the driver calls it on the last
//                          k block for tiles all MR×NR inside C, when C is not read (β = 0)
//   own_panels             template <class T> pack_a(a, g, i0, mc, p0, kc, out) and
//                          pack_b(b, g, p0, kc, j0, nc, out) with pack.hpp's signatures: its
//                          own panel format, in the workspace's float buffers (at most one
//                          float per element; panel ip of A at out + ip*kc, panel jp of B at
//                          out + jp*kc)
//   short_panels           run_rows(rows, kc, Ap, Bp, C, ldc, accumulate, next), 1 <= rows <=
//                          MR: run() of the panel's first `rows` rows only, at the cost of
//                          those rows (an A block's last panel, m % MR rows, no longer
//                          computes MR): C's rows i < rows get exactly run()'s bits, the
//                          others are neither read nor written; next (may be null) gets the
//                          same step() calls as run()'s
//   packs_a_block_of_lines the driver packs an A contiguous along m a whole block at a time
//                          (each k line read start to end once) rather than panel by panel
//   packs_b_in_pieces      the driver may pack a unit's next k block of a B whose rows are
//                          contiguous along n in pieces of rows between the tiles of the
//                          current block (driver.hpp: GemmCall::macro_kernel); with
//                          own_panels, template <class T> pack_b_piece(b, g, p0, kc, r0, r1,
//                          j0, nc, out): rows [r0, r1) of pack_b's block (r0 even, r1 even or
//                          kc), written where pack_b writes them (pack.hpp's pack_b_piece is
//                          the one for its panels)
//   checks_panels          a_panel_rejects(panel, kc), b_block_rejects(block, nc, kc): whether
//                          packed values include one the kernel cannot compute exactly (the
//                          driver's checked mode then stops the call, for another kernel to
//                          redo)
//   runs_transposed        (true unless declared false) the driver may run a problem as
//                          Cᵀ = Bᵀ·Aᵀ on it when that fills the tiles better
//   needs                  CPU features the kernel needs beyond its path's (kernel_runs_here;
//                          features the OS grants on request are asked for there)
//   holds_thread_state     run() sets up per-thread CPU state on first use (AMX's tile
//                          configuration) and release_thread_state() gives it back; the driver
//                          calls it on each thread at the end of every work unit
//                          (KernelStateScope), so nothing stays held between calls
#pragma once

#include "../core/config.hpp"

#include <array>
#include <concepts>
#include <cstdint>
#include <utility>

#include "../simd/isa_registry.hpp"
#include "../simd/os_permission.hpp"
#include "block_prefetch.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct KernelFeatures {
  bool prefetches_next_block = false;
  bool writes_output = false;
  bool own_panels = false;
  bool short_panels = false;
  bool packs_a_block_of_lines = false;
  bool packs_b_in_pieces = false;
  bool checks_panels = false;
  bool runs_transposed = true;
  bool holds_thread_state = false;
  std::uint32_t needs = 0;  // CPU features (CpuFeature bits) beyond those of its path
};

template <class K>
concept MicroKernel = requires(std::int64_t kc, const float* ap, const float* bp, float* c, std::int64_t ldc, bool acc) {
  { K::isa } -> std::convertible_to<Isa>;
  { K::MR } -> std::convertible_to<int>;
  { K::NR } -> std::convertible_to<int>;
  { K::features } -> std::convertible_to<KernelFeatures>;
  K::run(kc, ap, bp, c, ldc, acc);
};

// Fails to compile, naming the missing member, unless K keeps the contract above (T: the
// input element type it is used for).
template <class K, class T>
consteval bool check_micro_kernel() {
  static_assert(requires { { K::isa } -> std::convertible_to<Isa>; }, "micro-kernel: needs static constexpr Isa isa");
  static_assert(requires { { K::MR } -> std::convertible_to<int>; }, "micro-kernel: needs static constexpr int MR");
  static_assert(requires { { K::NR } -> std::convertible_to<int>; }, "micro-kernel: needs static constexpr int NR");
  static_assert(requires { { K::features } -> std::convertible_to<KernelFeatures>; },
                "micro-kernel: needs static constexpr KernelFeatures features");
  static_assert(requires(std::int64_t kc, const float* ap, const float* bp, float* c, std::int64_t ldc, bool acc) {
    K::run(kc, ap, bp, c, ldc, acc);
  }, "micro-kernel: needs static run(kc, Ap, Bp, C, ldc, accumulate)");
  constexpr KernelFeatures f = K::features;
  if constexpr (f.prefetches_next_block)
    static_assert(requires(std::int64_t kc, const float* ap, float* c, BlockPrefetch* next) {
      K::run(kc, ap, ap, c, kc, false, next);
      { K::prefetch_steps(kc) } -> std::same_as<std::int64_t>;
    }, "micro-kernel: features.prefetches_next_block needs run(kc, Ap, Bp, C, ldc, accumulate, BlockPrefetch*) "
       "and prefetch_steps(kc)");
  if constexpr (f.writes_output)
    static_assert(requires { { K::template output_store<float> } -> std::convertible_to<bool>; },
                  "micro-kernel: features.writes_output needs template <class TC> output_store and run_output<TC>");
  if constexpr (f.short_panels)
    static_assert(requires(int rows, std::int64_t kc, const float* ap, float* c, BlockPrefetch* next) {
      K::run_rows(rows, kc, ap, ap, c, kc, false, next);
    }, "micro-kernel: features.short_panels needs run_rows(rows, kc, Ap, Bp, C, ldc, accumulate, BlockPrefetch*)");
  if constexpr (f.own_panels)
    static_assert(requires { &K::template pack_a<T>; &K::template pack_b<T>; },
                  "micro-kernel: features.own_panels needs template <class T> pack_a and pack_b");
  if constexpr (f.packs_b_in_pieces && f.own_panels)
    static_assert(requires { &K::template pack_b_piece<T>; },
                  "micro-kernel: features.packs_b_in_pieces with own_panels needs template <class T> pack_b_piece");
  if constexpr (f.checks_panels)
    static_assert(requires(const float* panel, std::int64_t n) {
      { K::a_panel_rejects(panel, n) } -> std::same_as<bool>;
      { K::b_block_rejects(panel, n, n) } -> std::same_as<bool>;
    }, "micro-kernel: features.checks_panels needs a_panel_rejects(panel, kc) and b_block_rejects(block, nc, kc)");
  if constexpr (f.holds_thread_state)
    static_assert(requires { K::release_thread_state(); },
                  "micro-kernel: features.holds_thread_state needs static release_thread_state()");
  return true;
}

// {make<1>(), ..., make<MR>()}: a run_rows implementation's table of its tile loop
// instantiated for each row count (make returns a function pointer), so that the accumulators
// of every count stay in registers and the kernel's target attributes stay on the functions.
template <int MR, class Make>
constexpr auto per_row_count(Make make) {
  return [&]<int... R>(std::integer_sequence<int, R...>) {
    return std::array{make.template operator()<R + 1>()...};
  }(std::make_integer_sequence<int, MR>{});
}

// Whether K can run on this CPU (and build), with what the OS must grant this process.
template <class K>
bool kernel_runs_here() {
  return isa_runs_on(K::isa, cpu_features()) && features_usable(K::features.needs);
}

// Gives back the per-thread state a kernel with features.holds_thread_state set up, when the
// scope ends (also by an exception or an early return): one per work unit in the driver.
template <class K>
struct KernelStateScope {
  KernelStateScope() = default;
  KernelStateScope(const KernelStateScope&) = delete;
  KernelStateScope& operator=(const KernelStateScope&) = delete;
  ~KernelStateScope() {
    if constexpr (K::features.holds_thread_state) K::release_thread_state();
  }
};

// Whether K writes whole tiles of type TC from its registers (its declared output_store<TC>).
template <class K, class TC>
consteval bool writes_output_of() {
  if constexpr (K::features.writes_output) return K::template output_store<TC>;
  else return false;
}

}  // namespace detail
TESSEL_NAMESPACE_END
