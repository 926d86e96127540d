// tessel/ops/importance.hpp — SPEC §2–3: the importance matmul and its gradients.
//
// With `selected` the important flat positions (ops/selection.hpp) and A3 = A1's rows at
// those positions:
//   O3[r, n, :]                 = A3[r, n·hd:(n+1)·hd] @ W1[n·hd:(n+1)·hd, :]
//   dA1[sel[r], n·hd:(n+1)·hd]  = dO3[r, n, :] @ W1[n·hd:(n+1)·hd, :]ᵀ    (other rows 0)
//   dW1[n·hd:(n+1)·hd, :]       = A3[:, n·hd:(n+1)·hd]ᵀ @ dO3[:, n, :]      (0 when t = 0)
// Each is one batched GEMM over the heads, and A3 is never materialised: the selection is
// an index list on the engine's axes (gathered rows for O3, gathered k for dW1, scattered
// rows for dA1). Without grad_output no gradient work is done and nothing is allocated for it.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/tensor.hpp"
#include "../core/threads.hpp"
#include "../gemm/gemm.hpp"
#include "multi_head.hpp"
#include "operands.hpp"
#include "selection.hpp"

TESSEL_NAMESPACE_BEGIN

template <class T>
struct ImportanceResult {
  Tensor<T, 3> output;                      // O3 [t, nh, e]
  std::vector<std::int64_t> selected;       // flat positions i*s + j, ascending (size t)
  std::optional<Tensor<T, 3>> grad_input;   // dA1 [b, s, h]   (only with grad_output)
  std::optional<Tensor<T, 2>> grad_weight;  // dW1 [h, e]      (only with grad_output)
};

namespace detail {

// Row axis of A1 [b, s, h] addressed by flat position i·s + j, optionally through `index`.
template <class T>
Axis position_axis(const TensorView<T, 3>& v, const std::int64_t* index) {
  return merged_axis(v.size(0), v.stride(0), v.size(1), v.stride(1)).with_index(index);
}

template <class T>
void importance_forward(TensorView<const T, 3> A1, TensorView<const T, 2> W1, std::span<const std::int64_t> sel,
                        std::int64_t nh, TensorView<T, 3> O3) {
  const std::int64_t hd = A1.size(2) / nh;
  GemmProblem<T> p;
  p.batch = nh;
  p.m = static_cast<std::int64_t>(sel.size());
  p.n = W1.size(1);
  p.k = hd;
  p.a = {A1.data(), Axis::strided(hd * A1.stride(2)), position_axis(A1, sel.data()), Axis::strided(A1.stride(2))};
  p.b = {W1.data(), Axis::strided(hd * W1.stride(0)), Axis::strided(W1.stride(0)), Axis::strided(W1.stride(1))};
  p.c = {O3.data(), Axis::strided(O3.stride(1)), Axis::strided(O3.stride(0)), Axis::strided(O3.stride(2))};
  gemm(p);
}

// dA1: the selected rows get dO3 · W2ᵀ (scattered), every other row is zeroed.
template <class T>
void importance_grad_input(TensorView<const T, 2> W1, std::span<const std::int64_t> sel, std::int64_t nh,
                           TensorView<const T, 3> dO3, TensorView<T, 3> dA1) {
  const std::int64_t s = dA1.size(1), h = dA1.size(2), hd = h / nh;
  // Zero the unselected rows (the selected ones are fully written below), in blocks of rows
  // spread over the threads: each page of dA1 is then first written by a thread of the call,
  // as the engine's outputs are, and the fill runs at every core's store bandwidth, not one's.
  // sel is sorted, so a block finds its first selected row by binary search.
  const std::int64_t rows = dA1.size(0) * s;
  const std::int64_t row_bytes = h * static_cast<std::int64_t>(sizeof(T));
  constexpr std::int64_t kRowsPerUnit = 64;
  constexpr std::int64_t kBytesPerThread = std::int64_t{1} << 20;  // below this a thread costs more than it saves
  const std::int64_t units = (rows + kRowsPerUnit - 1) / kRowsPerUnit;
  const int threads = threads_for_call(0, std::min(units, rows * row_bytes / kBytesPerThread));
  parallel_for_dynamic(threads, units, [&](std::int64_t u) {
    const std::int64_t q0 = u * kRowsPerUnit, q1 = std::min(rows, q0 + kRowsPerUnit);
    auto next = std::lower_bound(sel.begin(), sel.end(), q0);
    for (std::int64_t q = q0; q < q1; ++q) {
      if (next != sel.end() && *next == q) {
        ++next;
        continue;
      }
      T* row = dA1.data() + (q / s) * dA1.stride(0) + (q % s) * dA1.stride(1);
      if (dA1.stride(2) == 1) std::memset(static_cast<void*>(row), 0, static_cast<std::size_t>(row_bytes));
      else
        for (std::int64_t c = 0; c < h; ++c) row[c * dA1.stride(2)] = T{};
    }
  });
  GemmProblem<T> p;
  p.batch = nh;
  p.m = static_cast<std::int64_t>(sel.size());
  p.n = hd;
  p.k = W1.size(1);
  p.a = {dO3.data(), Axis::strided(dO3.stride(1)), Axis::strided(dO3.stride(0)), Axis::strided(dO3.stride(2))};
  // B[k = c, n = i] = W1[n·hd + i, c]: W2[n] transposed, by swapping the strides.
  p.b = {W1.data(), Axis::strided(hd * W1.stride(0)), Axis::strided(W1.stride(1)), Axis::strided(W1.stride(0))};
  p.c = {dA1.data(), Axis::strided(hd * dA1.stride(2)), position_axis(dA1, sel.data()), Axis::strided(dA1.stride(2))};
  gemm(p);
}

// dW1: A3ᵀ · dO3 per head, with A3's rows gathered along the reduction axis. TC is T (the
// sum rounded once) or, for float16/bfloat16, float: the engine's fp32 sum itself, unrounded,
// for partial sums that a later reduction adds (distributed/data_parallel.hpp).
template <class T, class TC = T>
void importance_grad_weight(TensorView<const T, 3> A1, std::span<const std::int64_t> sel, std::int64_t nh,
                            TensorView<const T, 3> dO3, TensorView<TC, 2> dW1) {
  static_assert(is_output_type_for_v<T, TC>, "importance_grad_weight: dW1 must be T, or float");
  const std::int64_t hd = A1.size(2) / nh;
  GemmProblem<T, TC> p;
  p.batch = nh;
  p.m = hd;
  p.n = dW1.size(1);
  p.k = static_cast<std::int64_t>(sel.size());  // t = 0 gives exact zeros
  // A[m = i, k = r] = A1[sel[r], n·hd + i]
  p.a = {A1.data(), Axis::strided(hd * A1.stride(2)), Axis::strided(A1.stride(2)), position_axis(A1, sel.data())};
  p.b = {dO3.data(), Axis::strided(dO3.stride(1)), Axis::strided(dO3.stride(0)), Axis::strided(dO3.stride(2))};
  p.c = {dW1.data(), Axis::strided(hd * dW1.stride(0)), Axis::strided(dW1.stride(0)), Axis::strided(dW1.stride(1))};
  gemm(p);
}

template <class T>
void check_importance_inputs(std::string_view fn, const TensorView<const T, 3>& A1, const TensorView<const T, 2>& W1,
                             std::int64_t nh) {
  check_heads(fn, A1.shape(), W1.shape(), nh);
}

template <class T>
void check_grad_output(std::string_view fn, const std::optional<TensorView<const T, 3>>& dO3, std::int64_t t,
                       std::int64_t nh, std::int64_t e) {
  if (dO3) check_shape(fn, "grad_output", *dO3, Shape<3>{t, nh, e}, "the selection of t rows needs [t, nh, e] =");
}

}  // namespace detail

// The importance matmul for a known selection, into caller-provided outputs (any strides):
// O3 [t, nh, e]; with grad_output, dA1 [b, s, h] and/or dW1 [h, e] when given. Nothing is
// allocated beyond the engine's reused packing buffers.
template <ElementType T>
void matmul_with_importance_into(TensorView<const T, 3> A1, TensorView<const T, 2> W1,
                                 std::span<const std::int64_t> selected, std::int64_t num_heads, TensorView<T, 3> O3,
                                 std::optional<TensorView<const T, 3>> grad_output = std::nullopt,
                                 std::optional<TensorView<T, 3>> grad_input = std::nullopt,
                                 std::optional<TensorView<T, 2>> grad_weight = std::nullopt) {
  constexpr std::string_view fn = "matmul_with_importance_into";
  detail::check_importance_inputs(fn, A1, W1, num_heads);
  const std::int64_t positions = A1.size(0) * A1.size(1);
  const auto t = static_cast<std::int64_t>(selected.size());
  for (std::size_t r = 0; r < selected.size(); ++r)
    detail::check(selected[r] >= 0 && selected[r] < positions && (r == 0 || selected[r] > selected[r - 1]), fn,
                  "selected must hold strictly ascending flat positions in [0, b*s) = [0, ", positions,
                  ") for A1 ", A1.shape(), "; entry ", r, " is ", selected[r]);
  const std::int64_t e = W1.size(1);
  detail::check_shape(fn, "O3", O3, Shape<3>{t, num_heads, e}, "the selection and W1 give [t, nh, e] =");
  detail::check_grad_output<T>(fn, grad_output, t, num_heads, e);
  detail::check((!grad_input && !grad_weight) || grad_output, fn,
                "grad_input or grad_weight was given without grad_output");
  if (grad_input) detail::check_shape(fn, "grad_input", *grad_input, A1.shape(), "A1 has shape");
  if (grad_weight) detail::check_shape(fn, "grad_weight", *grad_weight, W1.shape(), "W1 has shape");
  // Outputs: writable, disjoint from each other, and disjoint from every input, or written
  // through a temporary where that cannot be decided cheaply (detail::OutputSlot).
  auto check_output = [&](const char* name, const auto& out) {
    detail::check_writable(fn, name, out);
    bool disjoint = detail::check_no_overlap(fn, name, out, "A1", A1);
    disjoint = detail::check_no_overlap(fn, name, out, "W1", W1) && disjoint;
    if (grad_output) disjoint = detail::check_no_overlap(fn, name, out, "grad_output", *grad_output) && disjoint;
    return disjoint;
  };
  detail::OutputSlot<T, 3> o3(O3, check_output("O3", O3));
  std::optional<detail::OutputSlot<T, 3>> da1;
  std::optional<detail::OutputSlot<T, 2>> dw1;
  if (grad_input) {
    const bool disjoint = check_output("grad_input", *grad_input);
    detail::check_outputs_disjoint(fn, "grad_input", *grad_input, "O3", O3);
    da1.emplace(*grad_input, disjoint);
  }
  if (grad_weight) {
    const bool disjoint = check_output("grad_weight", *grad_weight);
    detail::check_outputs_disjoint(fn, "grad_weight", *grad_weight, "O3", O3);
    if (grad_input) detail::check_outputs_disjoint(fn, "grad_weight", *grad_weight, "grad_input", *grad_input);
    dw1.emplace(*grad_weight, disjoint);
  }

  detail::importance_forward<T>(A1, W1, selected, num_heads, o3.view());
  if (da1) detail::importance_grad_input<T>(W1, selected, num_heads, *grad_output, da1->view());
  if (dw1) detail::importance_grad_weight<T>(A1, selected, num_heads, *grad_output, dw1->view());
  o3.finish();
  if (da1) da1->finish();
  if (dw1) dw1->finish();
}

// SPEC §2–3: selects the important rows of A1 by P and multiplies them head by head; with
// grad_output also returns dA1 and dW1.
template <ElementType T>
ImportanceResult<T> matmul_with_importance(TensorView<const T, 3> A1, TensorView<const T, 2> W1,
                                           TensorView<const T, 2> P, std::int64_t num_heads,
                                           ImportanceOptions options = {},
                                           std::optional<TensorView<const T, 3>> grad_output = std::nullopt) {
  constexpr std::string_view fn = "matmul_with_importance";
  detail::check_importance_inputs(fn, A1, W1, num_heads);
  detail::check_shape(fn, "P", P, Shape<2>{A1.size(0), A1.size(1)}, "A1 has shape");
  detail::check_options(fn, options, A1.size(1));
  if (grad_output) {
    detail::check_output_size<T>(fn, "grad_input", A1.shape());
    detail::check_output_size<T>(fn, "grad_weight", W1.shape());
  }
  ImportanceResult<T> result;
  select_important_into<T>(P, options, result.selected);
  const auto t = static_cast<std::int64_t>(result.selected.size());
  const std::int64_t e = W1.size(1);
  detail::check_grad_output<T>(fn, grad_output, t, num_heads, e);
  detail::check_output_size<T>(fn, "O3", Shape<3>{t, num_heads, e});

  result.output = Tensor<T, 3>({t, num_heads, e}, uninitialized);
  detail::importance_forward<T>(A1, W1, result.selected, num_heads, result.output.view());
  if (grad_output) {
    result.grad_input.emplace(A1.shape(), uninitialized);
    result.grad_weight.emplace(W1.shape(), uninitialized);
    detail::importance_grad_input<T>(W1, result.selected, num_heads, *grad_output, result.grad_input->view());
    detail::importance_grad_weight<T>(A1, result.selected, num_heads, *grad_output, result.grad_weight->view());
  }
  return result;
}

// Deducing forms: Tensors, non-const views and reshape()/contiguous() results.
template <TensorLike X, TensorLike W, TensorLike Q>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<Q> == 2 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<Q>>)
ImportanceResult<element_of_t<X>> matmul_with_importance(const X& A1, const W& W1, const Q& P, std::int64_t num_heads,
                                                         ImportanceOptions options = {}) {
  return matmul_with_importance<element_of_t<X>>(as_const_view(A1), as_const_view(W1), as_const_view(P), num_heads,
                                                 options);
}
template <TensorLike X, TensorLike W, TensorLike Q, TensorLike G>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<Q> == 2 && rank_of_v<G> == 3 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<Q>> &&
           std::is_same_v<element_of_t<X>, element_of_t<G>>)
ImportanceResult<element_of_t<X>> matmul_with_importance(const X& A1, const W& W1, const Q& P, std::int64_t num_heads,
                                                         ImportanceOptions options, const G& grad_output) {
  return matmul_with_importance<element_of_t<X>>(as_const_view(A1), as_const_view(W1), as_const_view(P), num_heads,
                                                 options, as_const_view(grad_output));
}

template <TensorLike X, TensorLike W, TensorLike O>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<O> == 3 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<O>>)
void matmul_with_importance_into(const X& A1, const W& W1, std::span<const std::int64_t> selected,
                                 std::int64_t num_heads, O&& O3) {
  matmul_with_importance_into<element_of_t<X>>(as_const_view(A1), as_const_view(W1), selected, num_heads,
                                               as_mutable_view(O3));
}
template <TensorLike X, TensorLike W, TensorLike O, TensorLike G, TensorLike DA, TensorLike DW>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<O> == 3 && rank_of_v<G> == 3 &&
           rank_of_v<DA> == 3 && rank_of_v<DW> == 2 && std::is_same_v<element_of_t<X>, element_of_t<W>> &&
           std::is_same_v<element_of_t<X>, element_of_t<O>> && std::is_same_v<element_of_t<X>, element_of_t<G>> &&
           std::is_same_v<element_of_t<X>, element_of_t<DA>> && std::is_same_v<element_of_t<X>, element_of_t<DW>>)
void matmul_with_importance_into(const X& A1, const W& W1, std::span<const std::int64_t> selected,
                                 std::int64_t num_heads, O&& O3, const G& grad_output, DA&& grad_input,
                                 DW&& grad_weight) {
  using T = element_of_t<X>;
  matmul_with_importance_into<T>(as_const_view(A1), as_const_view(W1), selected, num_heads, as_mutable_view(O3),
                                 TensorView<const T, 3>(as_const_view(grad_output)),
                                 TensorView<T, 3>(as_mutable_view(grad_input)),
                                 TensorView<T, 2>(as_mutable_view(grad_weight)));
}

TESSEL_NAMESPACE_END
