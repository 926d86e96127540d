// tessel/gemm/problem.hpp — the one computation the engine does, described as data.
//
//   for every batch g < batch:   C_g (=|+=) A_g · B_g      A_g: m×k, B_g: k×n, C_g: m×n
//
// Each operand is a base pointer, a batch stride and two Axis descriptions. An Axis maps a
// logical index to an element offset and can express everything tessel needs without
// copying: a plain stride (transposes, column blocks of wider tensors), two merged tensor
// dimensions that strides alone cannot merge (rows i·s + j of a permuted [b,s,h] input),
// and an index list (rows picked by the importance selection, gathered k, scattered C rows).
#pragma once

#include "../core/config.hpp"

#include <cstdint>

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct Axis {
  std::int64_t stride = 1;  // element stride of the index (of its inner part when split)
  // When inner > 0 the index i is split as (i / inner, i % inner), as for a flattened pair
  // of dimensions [outer, inner] whose strides do not merge.
  std::int64_t inner = 0;
  std::int64_t outer_stride = 0;
  // When set, logical index i first becomes index[i] (then split/strided as above).
  const std::int64_t* index = nullptr;

  std::int64_t offset(std::int64_t i) const {
    if (index) i = index[i];
    if (inner > 0) return (i / inner) * outer_stride + (i % inner) * stride;
    return i * stride;
  }
  // A unit-stride axis: consecutive logical indices are consecutive elements.
  bool is_unit() const { return stride == 1 && inner == 0 && index == nullptr; }
  static Axis strided(std::int64_t s) { return Axis{s, 0, 0, nullptr}; }
};

template <class T>
struct Operand {
  T* data = nullptr;
  std::int64_t batch_stride = 0;  // 0: the same matrix for every batch
  Axis rows, cols;

  T* batch(std::int64_t g) const { return data + g * batch_stride; }
};

template <class T>
struct GemmProblem {
  std::int64_t batch = 1, m = 0, n = 0, k = 0;
  Operand<const T> a;  // m × k
  Operand<const T> b;  // k × n
  Operand<T> c;        // m × n
  bool accumulate = false;  // C += A·B (one rounding of the sum) instead of C = A·B
  int threads = 0;          // 0: tessel's default (see core/threads.hpp)
};

}  // namespace detail
TESSEL_NAMESPACE_END
