// tessel/distributed/data_parallel.hpp — the importance matmul's training step with the
// batch split across the ranks of a communicator (data parallelism, as torch's DDP).
//
// The split. Each rank passes its own slice of the batch: A1 [b_r, s, h] and P [b_r, s],
// rank 0 the first b_0 batch entries, rank 1 the next b_1, and so on (rank order is batch
// order). The sizes b_r are the caller's choice and may differ (uneven splits, even empty
// ranks); distributed::even_split(b, comm) gives the usual one. W1 [h, e] is replicated:
// every rank passes the same weight (checked: a hash of its elements must agree).
//
// What each rank computes.
//   * Selection is per batch row (SPEC §2), so each rank selects its own rows: `selected`
//     holds its positions i·s + j with i < b_r (global position: + batch.offset·s). Its O3
//     rows [t_r, nh, e] are rows [rows.offset, rows.offset + t_r) of the global O3, whose
//     rows are the ranks' rows in rank order (ascending global position, as SPEC §2 orders
//     them). O3 and dA1 [b_r, s, h] stay with their rank; distributed::gather_into assembles
//     them where wanted (dimension 0).
//   * dW1 = Σ over all selected rows of A3ᵀ·dO3 needs every rank. It is summed in fp32 and
//     rounded to T once, and the result is the same on every rank.
//
// Bits. O3 and dA1 are bit-identical to the single-process matmul_with_importance on the
// whole batch, for any number of ranks and any split: each row is the same engine product
// (its reduction runs over hd or e, not over rows), and the bfloat16 kernel route is agreed
// across ranks as the single-process call would choose it (bf16_route.hpp). dW1 is
// bit-identical for any number of ranks and any split, but not to the single-process call:
// its sum over rows is cut into chunks, one per global batch entry (fixed by the data
// alone), each chunk's partial product is computed by the engine in fp32, and the partials
// are added in one tree order fixed by the batch size (ordered_sum.hpp), where the
// single-process call sums all t rows inside one engine call. The two differ in summation
// order only: both are fp32 sums of the same products, rounded once, and both keep the
// engine's fp32 accuracy (within the bound the tests use for fp32 accumulation over t rows).
// The chunk partials of float16 and bfloat16 are engine products with T inputs read in
// place (the chunk's selected A1 rows and its dO3 rows) and a float output: the fp32 sum
// itself, before any rounding to T (GemmProblem<T, float>). For bfloat16 the route of those
// products must not depend on the split either. Each chunk is its own engine call, which
// left alone would take its process's preference (a measurement that may differ between
// ranks) and, its guard seeing only its chunk, could take another route than the next chunk
// when the data holds a tiny value. So dW1 takes one route for the whole sum, agreed across
// the ranks (bf16_route.hpp) with a guard that sees every rank's dW1 inputs (its selected A1
// rows and its dO3), and pinned while ordered_sum runs the chunk leaves: amx or dpbf16 when
// rank 0 prefers it, every rank can run it and either no rank's dW1 inputs hold a tiny value
// or rank 0 forces the route; fma otherwise. That is the route the one-rank call on the
// whole batch gives every chunk, so dW1 stays the same for any number of ranks.
//
// All functions here are collective over the communicator: every rank calls them together,
// with its own slice; invalid arguments on any rank throw the same shape_error on every rank
// (agreement.hpp) before anything is computed. The ranks must run the same kernel path
// (TESSEL_ISA, the CPU): different kernels could round differently.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../core/tensor_view.hpp"
#include "../ops/importance.hpp"
#include "../ops/operands.hpp"
#include "../ops/selection.hpp"
#include "../simd/cpu_features.hpp"
#include "agreement.hpp"
#include "bf16_route.hpp"
#include "communicator.hpp"
#include "ordered_sum.hpp"
#include "partition.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {

// One rank's share of a data-parallel importance step.
template <class T>
struct DataParallelImportance {
  Tensor<T, 3> output;                      // this rank's O3 rows [t_r, nh, e]
  std::vector<std::int64_t> selected;       // this rank's positions i*s + j (i < b_r), ascending
  Slice rows;                               // this rank's O3 rows within the global O3 [t, nh, e]
  Slice batch;                              // this rank's batch entries within the global batch
  std::optional<Tensor<T, 3>> grad_input;   // this rank's dA1 [b_r, s, h]  (only with grad_output)
  std::optional<Tensor<T, 2>> grad_weight;  // dW1 [h, e], the same on every rank (only with grad_output)
};

// The backward half alone (data_parallel_importance_backward).
template <class T>
struct DataParallelImportanceGrads {
  Tensor<T, 3> grad_input;   // this rank's dA1 [b_r, s, h]
  Tensor<T, 2> grad_weight;  // dW1 [h, e], the same on every rank
};

namespace detail {

// The values every rank of a data-parallel call must share.
template <class T>
void agree_on_layer(Agreement& agree, const TensorView<const T, 3>& A1, const TensorView<const T, 2>& W1,
                    std::int64_t nh) {
  agree.same("element type (0 float, 1 float16, 2 bfloat16)", dtype_code<T>());
  agree.same("kernel path (0 scalar, 1 avx2, 2 avx512: set TESSEL_ISA alike)",
             static_cast<std::int64_t>(tessel::current_isa()));
  agree.same("sequence length s (A1.size(1))", A1.size(1));
  agree.same("hidden size h (A1.size(2))", A1.size(2));
  agree.same("W1.size(0)", W1.size(0));
  agree.same("W1.size(1)", W1.size(1));
  agree.same("num_heads", nh);
  agree.same("W1 (a replicated weight: the hash of its elements)",
             static_cast<std::int64_t>(hash_elements<const T, 2>(W1)));
}

// Local selection bounds: `selected` must be strictly ascending positions of A1's b_r·s.
template <class T>
void check_selected(std::string_view fn, const TensorView<const T, 3>& A1, std::span<const std::int64_t> sel) {
  const std::int64_t positions = A1.size(0) * A1.size(1);
  for (std::size_t r = 0; r < sel.size(); ++r)
    tessel::detail::check(sel[r] >= 0 && sel[r] < positions && (r == 0 || sel[r] > sel[r - 1]), fn,
                          "selected must hold strictly ascending positions in [0, b_r*s) = [0, ", positions,
                          ") of this rank's A1 ", A1.shape(), "; entry ", r, " is ", sel[r]);
}

// Operand descriptions for the bfloat16 guard scan (what the engine reads of each product).
template <class T>
tessel::detail::Operand<const T> rows_of(const TensorView<const T, 3>& A1, const std::int64_t* sel) {
  return {A1.data(), tessel::detail::Axis::strided(0), tessel::detail::position_axis(A1, sel), tessel::detail::Axis::strided(A1.stride(2))};
}
template <class T>
tessel::detail::Operand<const T> heads_of(const TensorView<const T, 3>& dO3) {  // [t, nh, e]: nh batches of t × e
  return {dO3.data(), tessel::detail::Axis::strided(dO3.stride(1)), tessel::detail::Axis::strided(dO3.stride(0)),
          tessel::detail::Axis::strided(dO3.stride(2))};
}

// O3 = this rank's rows, on the agreed route.
template <class T>
void forward_rows(const Communicator& comm, TensorView<const T, 3> A1, TensorView<const T, 2> W1,
                  std::span<const std::int64_t> sel, std::int64_t nh, TensorView<T, 3> O3) {
  const auto t = static_cast<std::int64_t>(sel.size());
  run_on_agreed_route<T>(
      comm,
      [&] {
        if constexpr (std::is_same_v<T, bfloat16>)
          return operand_dpbf16_safe(rows_of(A1, sel.data()), 1, t, A1.size(2)) &&
                 operand_dpbf16_safe(matrix_of(W1), 1, W1.size(0), W1.size(1));
        else return true;
      },
      [&] { tessel::detail::importance_forward<T>(A1, W1, sel, nh, O3); });
}

// chunk partial: the fp32 dW1 of the selected rows `sel` of this rank, into out [h, e]: the
// engine's fp32 sum itself (float16/bfloat16 inputs with a float output), read in place.
template <class T>
void chunk_grad_weight(TensorView<const T, 3> A1, std::span<const std::int64_t> sel, std::int64_t nh,
                       TensorView<const T, 3> dO3, float* out) {
  TensorView<float, 2> partial(out, Shape<2>{A1.size(2), dO3.size(2)});
  tessel::detail::importance_grad_weight<T, float>(A1, sel, nh, dO3, partial);
}

// dA1 (this rank's) and dW1 (summed over all ranks in the fixed order), after validation.
template <class T>
void backward_into(const Communicator& comm, std::string_view fn, TensorView<const T, 3> A1,
                   TensorView<const T, 2> W1, std::span<const std::int64_t> sel, std::int64_t nh,
                   TensorView<const T, 3> dO3, const std::vector<std::int64_t>& batch_counts, TensorView<T, 3> dA1,
                   TensorView<T, 2> dW1) {
  const auto t = static_cast<std::int64_t>(sel.size());
  // dO3 is an input of both products: scanned once, when a route vote first needs it.
  std::optional<bool> dO3_safe;
  auto grad_output_safe = [&] {
    if constexpr (std::is_same_v<T, bfloat16>)
      if (!dO3_safe) dO3_safe = operand_dpbf16_safe(heads_of(dO3), nh, t, dO3.size(2));
    return dO3_safe.value_or(true);
  };
  run_on_agreed_route<T>(
      comm,
      [&] {
        if constexpr (std::is_same_v<T, bfloat16>)
          return grad_output_safe() && operand_dpbf16_safe(matrix_of(W1), 1, W1.size(0), W1.size(1));
        else return true;
      },
      [&] { tessel::detail::importance_grad_input<T>(W1, sel, nh, dO3, dA1); });

  // Chunks: one per batch entry; this rank's entry i holds the selected rows [start[i], start[i+1]).
  const std::int64_t b = A1.size(0), s = A1.size(1), h = W1.size(0), e = W1.size(1);
  std::vector<std::size_t> start(static_cast<std::size_t>(b) + 1, sel.size());
  for (std::int64_t i = 0, r = 0; i < b; ++i) {
    while (static_cast<std::size_t>(r) < sel.size() && sel[static_cast<std::size_t>(r)] < i * s) ++r;
    start[static_cast<std::size_t>(i)] = static_cast<std::size_t>(r);
  }
  const Slice batch = slice_of(batch_counts, comm.rank());
  auto leaf = [&](std::int64_t chunk, float* out) {
    const auto i = static_cast<std::size_t>(chunk - batch.offset);
    const std::size_t r0 = start[i], r1 = start[i + 1];
    chunk_grad_weight<T>(A1, sel.subspan(r0, r1 - r0), nh,
                         dO3.narrow(0, static_cast<std::int64_t>(r0), static_cast<std::int64_t>(r1 - r0)), out);
  };
  std::vector<float> total(comm.rank() == 0 || batch.offset == 0 ? static_cast<std::size_t>(h * e) : 0);
  // One route for every chunk of every rank (see the top of this file): agreed over all
  // ranks' dW1 inputs (their selected A1 rows and dO3), pinned while ordered_sum runs the leaves.
  int root = -1;
  run_on_agreed_route<T>(
      comm,
      [&] {
        if constexpr (std::is_same_v<T, bfloat16>)
          return grad_output_safe() && operand_dpbf16_safe(rows_of(A1, sel.data()), 1, t, h);
        else return true;
      },
      [&] { root = ordered_sum(comm, fn, batch_counts, h * e, leaf, total.data()); }, Calls::several);
  if (root < 0) {  // an empty global batch: nothing selected anywhere
    for (std::int64_t i = 0; i < h; ++i)
      for (std::int64_t j = 0; j < e; ++j) dW1(i, j) = T{};
    return;
  }
  // The sum is rounded to T once, on the rank that holds it, and broadcast as T.
  Tensor<T, 2> rounded(Shape<2>{h, e}, uninitialized);
  if (comm.rank() == root)
    for (std::int64_t q = 0; q < h * e; ++q) rounded.data()[q] = from_float<T>(total[static_cast<std::size_t>(q)]);
  check_mpi(MPI_Bcast(rounded.data(), mpi_count(fn, "dW1", h * e), element_datatype<T>(), root, comm.get()),
            "MPI_Bcast");
  dW1.copy_(rounded.view());
}

}  // namespace detail

// The backward half of a data-parallel step, for a selection made before (this rank's
// `selected`, as data_parallel_importance returns it) and this rank's grad_output dO3
// [t_r, nh, e]: this rank's dA1 and the summed dW1. Collective.
template <ElementType T>
DataParallelImportanceGrads<T> data_parallel_importance_backward(const Communicator& comm,
                                                                 TensorView<const T, 3> A1, TensorView<const T, 2> W1,
                                                                 std::span<const std::int64_t> selected,
                                                                 std::int64_t num_heads,
                                                                 TensorView<const T, 3> grad_output) {
  constexpr std::string_view fn = "distributed::data_parallel_importance_backward";
  const auto t = static_cast<std::int64_t>(selected.size());
  detail::Agreement agree(fn);
  agree.local([&] {
    tessel::detail::check_importance_inputs(fn, A1, W1, num_heads);
    detail::check_selected(fn, A1, selected);
    tessel::detail::check_grad_output<T>(fn, grad_output, t, num_heads, W1.size(1));
    tessel::detail::check_output_size<T>(fn, "grad_input", A1.shape());
  });
  detail::agree_on_layer(agree, A1, W1, num_heads);
  agree.settle(comm);
  const std::vector<std::int64_t> counts = detail::all_counts(comm, A1.size(0));
  DataParallelImportanceGrads<T> g{Tensor<T, 3>(A1.shape(), uninitialized), Tensor<T, 2>(W1.shape(), uninitialized)};
  detail::backward_into<T>(comm, fn, A1, W1, selected, num_heads, grad_output, counts, g.grad_input.view(),
                           g.grad_weight.view());
  return g;
}

// The data-parallel importance matmul (SPEC §2–3 on the whole batch, each rank holding its
// slice): this rank's selection and O3 rows, and with grad_output (this rank's dO3
// [t_r, nh, e], so the caller selected first: select_important on its P) its dA1 and the
// summed dW1. Collective; see the top of this file for the split and the bits.
template <ElementType T>
DataParallelImportance<T> data_parallel_importance(const Communicator& comm, TensorView<const T, 3> A1,
                                                   TensorView<const T, 2> W1, TensorView<const T, 2> P,
                                                   std::int64_t num_heads, ImportanceOptions options = {},
                                                   std::optional<TensorView<const T, 3>> grad_output = std::nullopt) {
  constexpr std::string_view fn = "distributed::data_parallel_importance";
  DataParallelImportance<T> result;
  detail::Agreement agree(fn);
  agree.local([&] {
    tessel::detail::check_importance_inputs(fn, A1, W1, num_heads);
    tessel::detail::check_shape(fn, "P", P, Shape<2>{A1.size(0), A1.size(1)}, "this rank's A1 has shape");
    tessel::detail::check_options(fn, options, A1.size(1));
    tessel::detail::select_important_as<T>(fn, P, options, result.selected);
    const auto t = static_cast<std::int64_t>(result.selected.size());
    tessel::detail::check_grad_output<T>(fn, grad_output, t, num_heads, W1.size(1));
    tessel::detail::check_output_size<T>(fn, "O3", Shape<3>{t, num_heads, W1.size(1)});
    if (grad_output) tessel::detail::check_output_size<T>(fn, "grad_input", A1.shape());
  });
  detail::agree_on_layer(agree, A1, W1, num_heads);
  agree.same_real("top_p", options.top_p);
  agree.same("top_k (-1: none)", options.top_k.value_or(-1));
  agree.same("presence of grad_output (0 or 1)", grad_output ? 1 : 0);
  agree.settle(comm);

  // One exchange gives both slices: [b_r, t_r] per rank.
  std::int64_t mine[2] = {A1.size(0), static_cast<std::int64_t>(result.selected.size())};
  std::vector<std::int64_t> both(2 * static_cast<std::size_t>(comm.size()));
  detail::check_mpi(MPI_Allgather(mine, 2, MPI_INT64_T, both.data(), 2, MPI_INT64_T, comm.get()), "MPI_Allgather");
  std::vector<std::int64_t> batch_counts(static_cast<std::size_t>(comm.size())), row_counts(batch_counts.size());
  for (std::size_t r = 0; r < batch_counts.size(); ++r) batch_counts[r] = both[2 * r], row_counts[r] = both[2 * r + 1];
  result.batch = detail::slice_of(batch_counts, comm.rank());
  result.rows = detail::slice_of(row_counts, comm.rank());

  const std::int64_t t = result.rows.count, e = W1.size(1);
  result.output = Tensor<T, 3>(Shape<3>{t, num_heads, e}, uninitialized);
  detail::forward_rows<T>(comm, A1, W1, result.selected, num_heads, result.output.view());
  if (grad_output) {
    result.grad_input.emplace(A1.shape(), uninitialized);
    result.grad_weight.emplace(W1.shape(), uninitialized);
    detail::backward_into<T>(comm, fn, A1, W1, result.selected, num_heads, *grad_output, batch_counts,
                             result.grad_input->view(), result.grad_weight->view());
  }
  return result;
}

// Deducing forms: Tensors, non-const views and reshape()/contiguous() results.
template <TensorLike X, TensorLike W, TensorLike Q>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<Q> == 2 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<Q>>)
DataParallelImportance<element_of_t<X>> data_parallel_importance(const Communicator& comm, const X& A1, const W& W1,
                                                                 const Q& P, std::int64_t num_heads,
                                                                 ImportanceOptions options = {}) {
  return data_parallel_importance<element_of_t<X>>(comm, as_const_view(A1), as_const_view(W1), as_const_view(P),
                                                   num_heads, options);
}
template <TensorLike X, TensorLike W, TensorLike Q, TensorLike G>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<Q> == 2 && rank_of_v<G> == 3 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<Q>> &&
           std::is_same_v<element_of_t<X>, element_of_t<G>>)
DataParallelImportance<element_of_t<X>> data_parallel_importance(const Communicator& comm, const X& A1, const W& W1,
                                                                 const Q& P, std::int64_t num_heads,
                                                                 ImportanceOptions options, const G& grad_output) {
  return data_parallel_importance<element_of_t<X>>(comm, as_const_view(A1), as_const_view(W1), as_const_view(P),
                                                   num_heads, options, as_const_view(grad_output));
}
template <TensorLike X, TensorLike W, TensorLike G>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<G> == 3 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<G>>)
DataParallelImportanceGrads<element_of_t<X>> data_parallel_importance_backward(const Communicator& comm, const X& A1,
                                                                               const W& W1,
                                                                               std::span<const std::int64_t> selected,
                                                                               std::int64_t num_heads,
                                                                               const G& grad_output) {
  return data_parallel_importance_backward<element_of_t<X>>(comm, as_const_view(A1), as_const_view(W1), selected,
                                                            num_heads, as_const_view(grad_output));
}

}  // namespace distributed
TESSEL_NAMESPACE_END
