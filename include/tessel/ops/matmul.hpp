// tessel/ops/matmul.hpp — torch.matmul's 2-D and batched shapes, on the engine.
//
//   matmul(A [m,k],   B [k,n])   -> [m,n]
//   matmul(A [g,m,k], B [g,k,n]) -> [g,m,n]   a batch of 1 on either side broadcasts
//   matmul(A [g,m,k], B [k,n])   -> [g,m,n]   B shared by every batch
// Any strides on every operand; the _into forms write a caller's (possibly strided) view.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>

#include "../core/tensor.hpp"
#include "../gemm/gemm.hpp"
#include "operands.hpp"

TESSEL_NAMESPACE_BEGIN

namespace detail {
template <class T>
void run_matmul(std::string_view where, Operand<const T> a, Operand<const T> b, Operand<T> c, std::int64_t g,
                std::int64_t m, std::int64_t n, std::int64_t k) {
  GemmProblem<T> p;
  p.batch = g;
  p.m = m;
  p.n = n;
  p.k = k;
  p.a = a;
  p.b = b;
  p.c = c;
  (void)where;
  gemm(p);
}
}  // namespace detail

template <ElementType T>
void matmul_into(TensorView<const T, 2> A, TensorView<const T, 2> B, TensorView<T, 2> C) {
  constexpr std::string_view fn = "matmul_into";
  detail::check(A.size(1) == B.size(0), fn, "A has shape ", A.shape(), " and B has shape ", B.shape(),
                ": A.size(1) must equal B.size(0)");
  detail::check_shape(fn, "C", C, Shape<2>{A.size(0), B.size(1)}, "A @ B has shape");
  detail::check_writable(fn, "C", C);
  detail::check_no_overlap(fn, "C", C, "A", A);
  detail::check_no_overlap(fn, "C", C, "B", B);
  detail::run_matmul<T>(fn, detail::matrix_operand(A), detail::matrix_operand(B), detail::matrix_operand(C), 1,
                        A.size(0), B.size(1), A.size(1));
}

template <ElementType T>
void matmul_into(TensorView<const T, 3> A, TensorView<const T, 3> B, TensorView<T, 3> C) {
  constexpr std::string_view fn = "matmul_into";
  const std::int64_t ga = A.size(0), gb = B.size(0);
  detail::check(ga == gb || ga == 1 || gb == 1, fn, "batch sizes of A ", A.shape(), " and B ", B.shape(),
                " do not broadcast (they must be equal or one of them 1)");
  detail::check(A.size(2) == B.size(1), fn, "A has shape ", A.shape(), " and B has shape ", B.shape(),
                ": A.size(2) must equal B.size(1)");
  const std::int64_t g = ga == 1 ? gb : ga;
  detail::check_shape(fn, "C", C, Shape<3>{g, A.size(1), B.size(2)}, "A @ B has shape");
  detail::check_writable(fn, "C", C);
  detail::check_no_overlap(fn, "C", C, "A", A);
  detail::check_no_overlap(fn, "C", C, "B", B);
  // (A batch of one has batch stride 0: it broadcasts.)
  detail::run_matmul<T>(fn, detail::batched_operand(A), detail::batched_operand(B), detail::batched_operand(C), g,
                        A.size(1), B.size(2), A.size(2));
}

template <ElementType T>
void matmul_into(TensorView<const T, 3> A, TensorView<const T, 2> B, TensorView<T, 3> C) {
  constexpr std::string_view fn = "matmul_into";
  detail::check(A.size(2) == B.size(0), fn, "A has shape ", A.shape(), " and B has shape ", B.shape(),
                ": A.size(2) must equal B.size(0)");
  detail::check_shape(fn, "C", C, Shape<3>{A.size(0), A.size(1), B.size(1)}, "A @ B has shape");
  detail::check_writable(fn, "C", C);
  detail::check_no_overlap(fn, "C", C, "A", A);
  detail::check_no_overlap(fn, "C", C, "B", B);
  // B is shared by every batch. When A's batch and row dimensions merge, the whole product
  // is one tall GEMM (better blocking than g small ones).
  auto b = detail::matrix_operand(B);
  detail::Operand<const T> a{A.data(), detail::Axis::strided(0),
                             detail::merged_axis(A.size(0), A.stride(0), A.size(1), A.stride(1)),
                             detail::Axis::strided(A.stride(2))};
  detail::Operand<T> c{C.data(), detail::Axis::strided(0),
                       detail::merged_axis(C.size(0), C.stride(0), C.size(1), C.stride(1)),
                       detail::Axis::strided(C.stride(2))};
  detail::run_matmul<T>(fn, a, b, c, 1, A.size(0) * A.size(1), B.size(1), A.size(2));
}

template <ElementType T>
Tensor<T, 2> matmul(TensorView<const T, 2> A, TensorView<const T, 2> B) {
  detail::check(A.size(1) == B.size(0), "matmul", "A has shape ", A.shape(), " and B has shape ", B.shape(),
                ": A.size(1) must equal B.size(0)");
  Tensor<T, 2> C({A.size(0), B.size(1)}, uninitialized);
  matmul_into<T>(A, B, C.view());
  return C;
}

template <ElementType T>
Tensor<T, 3> matmul(TensorView<const T, 3> A, TensorView<const T, 3> B) {
  const std::int64_t ga = A.size(0), gb = B.size(0);
  detail::check(ga == gb || ga == 1 || gb == 1, "matmul", "batch sizes of A ", A.shape(), " and B ", B.shape(),
                " do not broadcast (they must be equal or one of them 1)");
  detail::check(A.size(2) == B.size(1), "matmul", "A has shape ", A.shape(), " and B has shape ", B.shape(),
                ": A.size(2) must equal B.size(1)");
  Tensor<T, 3> C({ga == 1 ? gb : ga, A.size(1), B.size(2)}, uninitialized);
  matmul_into<T>(A, B, C.view());
  return C;
}

template <ElementType T>
Tensor<T, 3> matmul(TensorView<const T, 3> A, TensorView<const T, 2> B) {
  detail::check(A.size(2) == B.size(0), "matmul", "A has shape ", A.shape(), " and B has shape ", B.shape(),
                ": A.size(2) must equal B.size(0)");
  Tensor<T, 3> C({A.size(0), A.size(1), B.size(1)}, uninitialized);
  matmul_into<T>(A, B, C.view());
  return C;
}

// Deducing forms: Tensors, non-const views and reshape()/contiguous() results.
template <TensorLike X, TensorLike Y>
  requires(std::is_same_v<element_of_t<X>, element_of_t<Y>> && rank_of_v<X> >= 2 && rank_of_v<X> <= 3 &&
           rank_of_v<Y> >= 2 && rank_of_v<Y> <= rank_of_v<X>)
auto matmul(const X& A, const Y& B) {
  return matmul<element_of_t<X>>(as_const_view(A), as_const_view(B));
}
template <TensorLike X, TensorLike Y, TensorLike Z>
  requires(std::is_same_v<element_of_t<X>, element_of_t<Y>> && std::is_same_v<element_of_t<X>, element_of_t<Z>> &&
           rank_of_v<X> == rank_of_v<Z> && rank_of_v<X> >= 2 && rank_of_v<X> <= 3 && rank_of_v<Y> >= 2 &&
           rank_of_v<Y> <= rank_of_v<X>)
void matmul_into(const X& A, const Y& B, Z&& C) {
  matmul_into<element_of_t<X>>(as_const_view(A), as_const_view(B), as_mutable_view(C));
}

TESSEL_NAMESPACE_END
