// tessel/gemm/paths.hpp — what each kernel path of the registry (simd/isa_registry.hpp) runs:
// per element type, its micro-kernel and block limits (BLIS's per-dtype columns), and how a
// call is routed among them.
//
//   path     float               float16             bfloat16
//   scalar   PortableKernel      PortableKernel      PortableKernel     (vector extensions)
//   neon     NeonKernel          NeonKernel          NeonKernel         (AArch64)
//   avx2     Avx2Kernel          Avx2Kernel          Avx2Kernel
//   avx512   Avx512Kernel        Avx512Kernel        Avx512Kernel, Avx512Bf16Kernel (vdpbf16ps) or
//                                                    AmxBf16Kernel (AMX tiles), as
//                                                    gemm/bf16_route.hpp says
//
// The portable path keeps the name `scalar` (TESSEL_ISA=scalar, SPEC §7); its kernel is the
// vector-extension PortableKernel. ScalarKernel, the plain loop, is in no path: tests use it
// as a reference.
//
// A new path is a Path specialisation here, an entry in the registry's
// table, and its kernels; dispatch (gemm.hpp) loops over the table and names no path.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/isa_registry.hpp"
#include "blocking.hpp"
#include "driver.hpp"
#include "kernel_portable.hpp"
#include "bf16_guard.hpp"  // bf16_route_for: the route question has an answer on every path
#include "bf16_route.hpp"
#include "problem.hpp"
#if defined(TESSEL_HAVE_NEON_TARGETS)
#include "kernel_neon.hpp"
#endif
#if defined(TESSEL_HAVE_X86_TARGETS)
#include "kernel_avx2.hpp"
#include "kernel_amx_bf16.hpp"
#include "kernel_avx512.hpp"
#include "kernel_avx512_bf16.hpp"
#endif

TESSEL_NAMESPACE_BEGIN
namespace detail {

// A micro-kernel with its block limits: what the driver (gemm/driver.hpp) runs.
template <class K, BlockLimits L = BlockLimits{}>
struct KernelConfig {
  using Kernel = K;
  static constexpr BlockLimits limits = L;
};

// Every kernel configuration a path may run for one element type (tests run each).
template <class... Configs>
struct ConfigList {};

// One specialisation per path of the table (only compiled paths are ever instantiated):
//   config<T>    the configuration element type T runs on by default
//   configs<T>   every configuration it may run (ConfigList)
//   run(p)       runs p, choosing among them
template <Isa I>
struct Path;

// A path that runs one kernel for every element type.
template <class K>
struct OneKernelPath {
  template <class T>
  using config = KernelConfig<K>;
  template <class T>
  using configs = ConfigList<config<T>>;
  template <class T, class TC>
  static void run(const GemmProblem<T, TC>& p) {
    run_gemm<config<T>>(p);
  }
};

template <>
struct Path<Isa::scalar> : OneKernelPath<PortableKernel> {};

#if defined(TESSEL_HAVE_NEON_TARGETS)
template <>
struct Path<Isa::neon> : OneKernelPath<NeonKernel> {};
#endif

#if defined(TESSEL_HAVE_X86_TARGETS)
template <>
struct Path<Isa::avx2> : OneKernelPath<Avx2Kernel> {};

template <>
struct Path<Isa::avx512> {
  template <class T>
  using config = KernelConfig<Avx512Kernel>;
  using pairs_config = KernelConfig<Avx512Bf16Kernel, BlockLimits{.panel_bytes = 2}>;  // bfloat16 pairs, vdpbf16ps
  // bfloat16 pairs on AMX tiles; kc from all of L1 (the A sliver is bfloat16, half the bytes
  // the fp32 sizing assumes, so it still fills only half of it), as a longer k per tile
  // call spreads the accumulator tiles' loads and stores over more tdpbf16ps; up to two
  // thirds of L1 where k then fits one block or the row has at most two tiles (blocking.hpp).
  using amx_config =
      KernelConfig<AmxBf16Kernel, BlockLimits{.l1_share = 1, .l1_long_percent = 67, .panel_bytes = 2}>;
  template <class T>
  using configs = std::conditional_t<dtype_of<T> == DType::bfloat16, ConfigList<config<T>, pairs_config, amx_config>,
                                     ConfigList<config<T>>>;

  template <class T, class TC>
  static void run(const GemmProblem<T, TC>& p) {
    if constexpr (dtype_of<T> == DType::bfloat16) {
      const Bf16Route route = bf16_route();
      if (route == Bf16Route::amx && run_flushing<amx_config>(p)) return;
      if (route == Bf16Route::dpbf16 && run_flushing<pairs_config>(p)) return;
    }
    run_gemm<config<T>>(p);
  }

 private:
  // bfloat16 on a route that flushes tiny values (vdpbf16ps or AMX, gemm/bf16_route.hpp):
  // unguarded when forced; else only if this call's inputs have no tiny values it would
  // flush (gemm/bf16_guard.hpp); false: the call is the fp32 route's. The guard checks the
  // packed panels as the call runs; the first tiny value stops it, and the fp32 route redoes
  // the whole call, overwriting C. A call that reads C (β != 0) cannot be redone, so A and B
  // are scanned before it instead.
  template <class Config, class TC>
  static bool run_flushing(const GemmProblem<bfloat16, TC>& p) {
    if (bf16_route_forced()) {
      run_gemm<Config>(p);
      return true;
    }
    if (p.epilogue.reads_c()) {
      if (bf16_route_for(p) == Bf16Route::fma) return false;  // the scan found a tiny value
      run_gemm<Config>(p);
      return true;
    }
    return run_gemm<Config>(p, /*checked=*/true);
  }
};
#endif

// Calls f.template operator()<Config>() for every configuration of every compiled path for
// element type T whose kernel runs on this CPU, worst path first.
template <class T, std::size_t N = 0, class F>
void for_each_kernel_config(F&& f) {
  constexpr std::size_t kEntries = sizeof(kIsaTable) / sizeof(kIsaTable[0]);
  if constexpr (N < kEntries) {
    if constexpr (kIsaTable[N].compiled) {
      [&]<class... Configs>(ConfigList<Configs...>) {
        ((kernel_runs_here<typename Configs::Kernel>() ? f.template operator()<Configs>() : void()), ...);
      }(typename Path<kIsaTable[N].isa>::template configs<T>{});
    }
    for_each_kernel_config<T, N + 1>(f);
  }
}

}  // namespace detail
TESSEL_NAMESPACE_END
