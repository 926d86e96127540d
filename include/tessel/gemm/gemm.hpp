// tessel/gemm/gemm.hpp — the engine's internal entry: one batched, strided GEMM, dispatched
// to the kernels of the ISA in use (cpu_features(), TESSEL_ISA, set_isa()).
#pragma once

#include <type_traits>

#include "../core/dtype.hpp"
#include "../simd/cpu_features.hpp"
#include "driver.hpp"
#include "kernel_avx2.hpp"
#include "kernel_avx512.hpp"
#include "kernel_avx512_bf16.hpp"
#include "kernel_scalar.hpp"
#include "problem.hpp"

namespace tessel::detail::inline TESSEL_FLAGS_NS {

// Runs p on the kernels of `isa` (which the CPU must have).
template <class T>
void gemm_on(Isa isa, const GemmProblem<T>& p) {
  static_assert(is_element_type_v<T>, "gemm: T must be float, float16 or bfloat16");
  switch (isa) {
#if defined(TESSEL_HAVE_X86_TARGETS)
    case Isa::avx512:
      // bfloat16: vdpbf16ps on bfloat16 pairs where that is measured faster than converting
      // to fp32 and this call's inputs have no tiny values it would flush (one scan of A and
      // B; kernel_avx512_bf16.hpp: bf16_route_for(), TESSEL_BF16_ROUTE).
      if constexpr (std::is_same_v<T, bfloat16>) {
        if (bf16_route_for(p) == Bf16Route::dpbf16) {
          run_gemm<Avx512Bf16Kernel>(p);
          break;
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

template <class T>
void gemm(const GemmProblem<T>& p) {
  gemm_on(current_isa(), p);
}

}  // namespace tessel::detail::TESSEL_FLAGS_NS
