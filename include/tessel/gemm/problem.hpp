// tessel/gemm/problem.hpp — the one computation the engine does, described as data.
//
//   for every batch g < batch:   C_g = round_TC(α·A_g·B_g + bias + β·C_g)
//                                A_g: m×k, B_g: k×n, C_g: m×n, the sum A_g·B_g in fp32
//
// Each operand is a base pointer and three Axis descriptions (gemm/axis.hpp): its batch,
// rows and columns, each any number of tensor dimensions with any strides (stride 0: the
// same element for every index, e.g. a batch broadcast), optionally through an index list.
// The three operands' batch axes share the same logical batch index g; their dimension
// sizes may be written once (as on C) and the strides differ per operand.
//
// The epilogue (α, β, bias) is applied to the fp32 block of A·B before its one rounding to
// the output type, by the store (gemm/store.hpp), in this order:
//   v = α·acc + b         (b = bias[j·stride] for column j, or bias[i·stride] for row i;
//                          one rounding: acc + b when α = 1, else fma(α, acc, b))
//   C = round(v)                      β = 0: C is written, never read (it may hold NaN)
//   C = round(v + C)                  β = 1
//   C = round(fma(β, C, v))           otherwise
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <type_traits>

#include "axis.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

template <class T>
struct Operand {
  T* data = nullptr;
  Axis batch = Axis::strided(0);  // stride 0: the same matrix for every batch
  Axis rows, cols;

  // The matrix of batch g.
  T* matrix(std::int64_t g) const { return data + batch.offset(g); }
};

// Which index of C the bias follows: its columns (linear's bias[out]) or its rows.
enum class BiasAlong : unsigned char { n, m };

template <class T>
struct Epilogue {
  float alpha = 1.0f;
  float beta = 0.0f;         // 0: C is only written; 1: C += α·A·B (+ bias)
  const T* bias = nullptr;   // none when null; the same for every batch
  std::int64_t bias_stride = 1;
  BiasAlong bias_along = BiasAlong::n;

  bool reads_c() const { return beta != 0.0f; }
  // Whether the fp32 block changes before the store (α or a bias).
  bool scales_or_biases() const { return alpha != 1.0f || bias != nullptr; }
};

// The output types the engine writes for inputs T: T itself (rounded once), or float for
// float16/bfloat16 inputs (the fp32 accumulator itself, unrounded: partial sums that later
// reductions add up, as linear's gradients and data-parallel training do).
template <class T, class TC>
inline constexpr bool is_output_type_for_v = std::is_same_v<T, TC> || std::is_same_v<TC, float>;

template <class T, class TC = T>
struct GemmProblem {
  static_assert(is_output_type_for_v<T, TC>, "GemmProblem<T, TC>: C must be T, or float");
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
  Operand<const T> a;  // m × k
  Operand<const T> b;  // k × n
  Operand<TC> c;       // m × n
  Epilogue<T> epilogue;
  int threads = 0;     // 0: tessel's default (see core/threads.hpp)
};

// The operand transposed: rows and columns swap roles.
template <class T>
Operand<T> transposed(const Operand<T>& o) {
  return Operand<T>{o.data, o.batch, o.cols, o.rows};
}

// C = A·B computed as Cᵀ = Bᵀ·Aᵀ: the same products summed in the same order (a·b = b·a
// exactly, and the k blocks do not change), so the same bits; only the roles of the tile's
// rows and columns change (and a bias along n becomes one along m).
template <class T, class TC>
GemmProblem<T, TC> transposed(const GemmProblem<T, TC>& p) {
  GemmProblem<T, TC> t = p;
  t.m = p.n, t.n = p.m;
  t.a = transposed(p.b);
  t.b = transposed(p.a);
  t.c = transposed(p.c);
  t.epilogue.bias_along = p.epilogue.bias_along == BiasAlong::n ? BiasAlong::m : BiasAlong::n;
  return t;
}

}  // namespace detail
TESSEL_NAMESPACE_END
