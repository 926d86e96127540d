// tessel/gemm/gemm.hpp — the engine's internal entry: one batched, strided GEMM, dispatched
// to the kernels of the ISA in use (cpu_features(), TESSEL_ISA, set_isa()).
#pragma once

#include "../core/config.hpp"

#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/cpu_features.hpp"
#include "driver.hpp"
#include "kernel_avx2.hpp"
#include "kernel_avx512.hpp"
#include "kernel_avx512_bf16.hpp"
#include "kernel_scalar.hpp"
#include "problem.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Runs p on the kernels of `isa` (which the CPU must have).
template <class T, class TC>
void gemm_on(Isa isa, const GemmProblem<T, TC>& p) {
  static_assert(is_element_type_v<T>, "gemm: T must be float, float16 or bfloat16");
  switch (isa) {
#if defined(TESSEL_HAVE_X86_TARGETS)
    case Isa::avx512:
      // bfloat16: vdpbf16ps on bfloat16 pairs where that is measured faster than converting
      // to fp32, and this call's inputs have no tiny values it would flush; else the fp32
      // route (kernel_avx512_bf16.hpp: TESSEL_BF16_ROUTE, bf16_route_for()). The guard
      // checks the packed panels as the call runs; the first tiny value stops it, and the
      // fp32 route redoes the whole call, overwriting C. When the call reads C (β != 0), C
      // cannot be redone, so A and B are scanned before the call instead.
      if constexpr (std::is_same_v<T, bfloat16>) {
        if (bf16_route() == Bf16Route::dpbf16) {
          const bool forced = bf16_route_mode() == Bf16Route::dpbf16;  // unguarded
          if (forced || p.epilogue.reads_c()) {
            if (bf16_route_for(p) == Bf16Route::dpbf16) {  // forced, or the scan passed
              run_gemm<Avx512Bf16Kernel>(p);
              break;
            }
          } else if (run_gemm<Avx512Bf16Kernel>(p, /*guarded=*/true)) {
            break;
          }
        }
      }
      run_gemm<Avx512Kernel>(p);
      break;
    case Isa::avx2:
      run_gemm<Avx2Kernel>(p);
      break;
#endif
    default:
      run_gemm<ScalarKernel>(p);
  }
}

template <class T, class TC>
void gemm(const GemmProblem<T, TC>& p) {
  gemm_on(current_isa(), p);
}

}  // namespace detail
TESSEL_NAMESPACE_END
