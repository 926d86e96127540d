// tessel/ops/multi_head.hpp — SPEC §1: O2[i,j,n,:] = A1[i,j, n·hd:(n+1)·hd] @ W1[n·hd:(n+1)·hd, :]
//
// One batched GEMM with the heads as the batch: head n reads a column block of A1 (batch
// stride hd along h), a row block of W1 (batch stride hd rows) and writes O2[:, :, n, :]
// (batch stride O2.stride(2)). The b and s dimensions of A1 and O2 are flattened into the
// GEMM's rows without copying, whatever their strides. No loop over heads, no temporaries.
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "../core/tensor.hpp"
#include "../gemm/gemm.hpp"
#include "operands.hpp"

TESSEL_NAMESPACE_BEGIN

namespace detail {

inline std::int64_t check_heads(std::string_view fn, const Shape<3>& a1, const Shape<2>& w1, std::int64_t nh) {
  check(nh >= 1, fn, "num_heads must be at least 1, got ", nh);
  check(a1[2] % nh == 0, fn, "A1 has shape ", a1, " whose hidden size ", a1[2], " is not divisible by num_heads = ",
        nh);
  check(w1[0] == a1[2], fn, "W1 has shape ", w1, " but A1 ", a1, " needs W1.size(0) == ", a1[2]);
  return a1[2] / nh;
}

template <class T>
void multi_head_into_unchecked(TensorView<const T, 3> A1, TensorView<const T, 2> W1, std::int64_t nh,
                               TensorView<T, 4> O2) {
  const std::int64_t hd = A1.size(2) / nh;
  GemmProblem<T> p;
  p.batch = nh;
  p.m = A1.size(0) * A1.size(1);
  p.n = W1.size(1);
  p.k = hd;
  p.a = {A1.data(), Axis::strided(hd * A1.stride(2)), merged_axis(A1.size(0), A1.stride(0), A1.size(1), A1.stride(1)),
         Axis::strided(A1.stride(2))};
  p.b = {W1.data(), Axis::strided(hd * W1.stride(0)), Axis::strided(W1.stride(0)), Axis::strided(W1.stride(1))};
  p.c = {O2.data(), Axis::strided(O2.stride(2)), merged_axis(O2.size(0), O2.stride(0), O2.size(1), O2.stride(1)),
         Axis::strided(O2.stride(3))};
  gemm(p);
}

}  // namespace detail

// Writes the multi-head product into a caller's [b, s, nh, e] view (any strides).
template <ElementType T>
void matmul_with_multi_head_into(TensorView<const T, 3> A1, TensorView<const T, 2> W1, std::int64_t num_heads,
                                 TensorView<T, 4> O2) {
  constexpr std::string_view fn = "matmul_with_multi_head_into";
  detail::check_heads(fn, A1.shape(), W1.shape(), num_heads);
  detail::check_shape(fn, "O2", O2, Shape<4>{A1.size(0), A1.size(1), num_heads, W1.size(1)},
                      "A1, W1 and num_heads give");
  detail::check_writable(fn, "O2", O2);
  detail::check_no_overlap(fn, "O2", O2, "A1", A1);
  detail::check_no_overlap(fn, "O2", O2, "W1", W1);
  detail::multi_head_into_unchecked<T>(A1, W1, num_heads, O2);
}

// O2 [b, s, nh, e] = A1 [b, s, h] times W1 [h, e] with h split into num_heads heads.
template <ElementType T>
Tensor<T, 4> matmul_with_multi_head(TensorView<const T, 3> A1, TensorView<const T, 2> W1, std::int64_t num_heads) {
  detail::check_heads("matmul_with_multi_head", A1.shape(), W1.shape(), num_heads);
  Tensor<T, 4> O2({A1.size(0), A1.size(1), num_heads, W1.size(1)}, uninitialized);
  detail::multi_head_into_unchecked<T>(A1, W1, num_heads, O2.view());
  return O2;
}

// Deducing forms: Tensors, non-const views and reshape()/contiguous() results.
template <TensorLike X, TensorLike W>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && std::is_same_v<element_of_t<X>, element_of_t<W>>)
auto matmul_with_multi_head(const X& A1, const W& W1, std::int64_t num_heads) {
  return matmul_with_multi_head<element_of_t<X>>(as_const_view(A1), as_const_view(W1), num_heads);
}
template <TensorLike X, TensorLike W, TensorLike O>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<O> == 4 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<O>>)
void matmul_with_multi_head_into(const X& A1, const W& W1, std::int64_t num_heads, O&& O2) {
  matmul_with_multi_head_into<element_of_t<X>>(as_const_view(A1), as_const_view(W1), num_heads, as_mutable_view(O2));
}

TESSEL_NAMESPACE_END
