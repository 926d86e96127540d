// tessel/instantiate.hpp — the engine compiled once for the whole program (opt-in).
//
// Include this in exactly one source file of a program whose translation units are all
// built with TESSEL_EXTERN_TEMPLATES defined (gemm/gemm.hpp); that file then holds the
// engine's code for every path and element type, and the other units only call it, which
// cuts their compile time. Build it with the same compiler flags as the rest.
#pragma once

#include "tessel.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {
template void gemm_on<float, float>(Isa, const GemmProblem<float, float>&);
template void gemm_on<float16, float16>(Isa, const GemmProblem<float16, float16>&);
template void gemm_on<bfloat16, bfloat16>(Isa, const GemmProblem<bfloat16, bfloat16>&);
template void gemm_on<float16, float>(Isa, const GemmProblem<float16, float>&);
template void gemm_on<bfloat16, float>(Isa, const GemmProblem<bfloat16, float>&);
}  // namespace detail
TESSEL_NAMESPACE_END
