// tessel/gemm/gemm.hpp — the engine's internal entry: one batched, strided GEMM with its
// epilogue (gemm/problem.hpp), run on the kernels of a path of the registry
// (simd/isa_registry.hpp: cpu_features(), TESSEL_ISA, set_isa()).
//
// Compile time: every translation unit that calls the engine compiles it for each path and
// element type it uses. A program may instead compile it once: define TESSEL_EXTERN_TEMPLATES
// in every translation unit (e.g. target_compile_definitions(app PRIVATE
// TESSEL_EXTERN_TEMPLATES)), and add one source file that includes <tessel/instantiate.hpp>,
// built with the same flags (a unit built with other instruction-set or debug flags has its
// own ABI namespace and would not find these definitions: a link error, never a wrong
// program).
#pragma once

#include "../core/config.hpp"

#include "../core/dtype.hpp"
#include "../simd/isa_registry.hpp"
#include "paths.hpp"
#include "problem.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Runs p on the kernels of `isa` (a path that runs here; else the best one that does).
template <class T, class TC>
void gemm_on(Isa isa, const GemmProblem<T, TC>& p) {
  static_assert(is_element_type_v<T>, "gemm: T must be float, float16 or bfloat16");
  visit_isa(isa, [&]<Isa I>() { Path<I>::run(p); });
}

template <class T, class TC>
void gemm(const GemmProblem<T, TC>& p) {
  gemm_on(current_isa(), p);
}

// The engine's instantiations, compiled once by <tessel/instantiate.hpp> when the program
// asks for it (see above).
#if defined(TESSEL_EXTERN_TEMPLATES)
extern template void gemm_on<float, float>(Isa, const GemmProblem<float, float>&);
extern template void gemm_on<float16, float16>(Isa, const GemmProblem<float16, float16>&);
extern template void gemm_on<bfloat16, bfloat16>(Isa, const GemmProblem<bfloat16, bfloat16>&);
extern template void gemm_on<float16, float>(Isa, const GemmProblem<float16, float>&);
extern template void gemm_on<bfloat16, float>(Isa, const GemmProblem<bfloat16, float>&);
#endif

}  // namespace detail
TESSEL_NAMESPACE_END
