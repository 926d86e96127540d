// tessel/distributed/head_parallel.hpp — the multi-head matmul with its heads split across
// the ranks of a communicator (tensor parallelism, as Megatron's column-parallel linear).
//
// SPEC §1 cuts h into nh blocks of hd = h/nh: head n multiplies A1[..., n·hd:(n+1)·hd] by
// W1's rows n·hd … (n+1)·hd - 1. Heads are independent, so rank r owns a consecutive block of
// heads, head_block(nh, comm) = even_split(nh, comm): [first, first + count) with the
// counts differing by at most one when P does not divide nh (the lower ranks take the
// extra heads; with nh < P the last ranks own none and compute nothing). Rank r holds W1's
// row block for its heads, [count·hd, e] (weight_block cuts it from a full W1), and the
// whole input A1 [b, s, h] (replicated, as the input of a column-parallel layer is), and
// computes its heads' O2 slice [b, s, count, e] with no communication beyond the argument
// check and the bfloat16 route agreement (bf16_route.hpp). O2 [b, s, nh, e] is the slices
// concatenated along dimension 2 in rank order: distributed::gather_into(comm, O2_r, 2, O2).
//
// Bits: each head is the same engine product as in the single-process
// matmul_with_multi_head (same m = b·s, n = e, k = hd, so the same blocking and the same
// sums), so the gathered O2 equals the single-process O2 bit for bit, for any number of
// ranks. A1 must be the same on every rank; that is not checked (hashing it would cost a
// pass over the largest operand), only its shape is.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <string_view>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../core/tensor_view.hpp"
#include "../ops/multi_head.hpp"
#include "../ops/operands.hpp"
#include "../simd/cpu_features.hpp"
#include "agreement.hpp"
#include "bf16_route.hpp"
#include "communicator.hpp"
#include "partition.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {

// The heads this rank owns.
inline Slice head_block(std::int64_t num_heads, const Communicator& comm) {
  tessel::detail::check(num_heads >= 1, "distributed::head_block", "num_heads must be at least 1, got ", num_heads);
  return even_split(num_heads, comm);
}

// This rank's rows of a full W1 [h, e]: [first·hd, (first + count)·hd), a view.
template <class T>
TensorView<T, 2> weight_block(TensorView<T, 2> W1, std::int64_t num_heads, const Communicator& comm) {
  const Slice heads = head_block(num_heads, comm);
  tessel::detail::check(W1.size(0) % num_heads == 0, "distributed::weight_block", "W1 has shape ", W1.shape(),
                        " whose row count ", W1.size(0), " is not divisible by num_heads = ", num_heads);
  const std::int64_t hd = W1.size(0) / num_heads;
  return W1.narrow(0, heads.offset * hd, heads.count * hd);
}
template <TensorLike W>
  requires(rank_of_v<W> == 2)
auto weight_block(W&& W1, std::int64_t num_heads, const Communicator& comm) {
  if constexpr (std::is_const_v<std::remove_reference_t<W>>) return weight_block(as_const_view(W1), num_heads, comm);
  else return weight_block(as_mutable_view(W1), num_heads, comm);
}

// Writes this rank's heads of the multi-head product into O2_block [b, s, count, e] (any
// strides). A1 is the whole input [b, s, h]; W1_block this rank's rows [count·hd, e];
// num_heads the total nh. Collective (the argument check and the route agreement).
template <ElementType T>
void head_parallel_multi_head_into(const Communicator& comm, TensorView<const T, 3> A1,
                                   TensorView<const T, 2> W1_block, std::int64_t num_heads,
                                   TensorView<T, 4> O2_block) {
  constexpr std::string_view fn = "distributed::head_parallel_multi_head_into";
  Slice heads;
  std::int64_t hd = 0;
  detail::Agreement agree(fn);
  agree.local([&] {
    tessel::detail::check(num_heads >= 1, fn, "num_heads must be at least 1, got ", num_heads);
    tessel::detail::check(A1.size(2) % num_heads == 0, fn, "A1 has shape ", A1.shape(), " whose hidden size ",
                          A1.size(2), " is not divisible by num_heads = ", num_heads);
    heads = head_block(num_heads, comm);
    hd = A1.size(2) / num_heads;
    tessel::detail::check_shape(fn, "W1_block", W1_block, Shape<2>{heads.count * hd, W1_block.size(1)},
                                "this rank's heads need [count·hd, e] =");
    tessel::detail::check_shape(fn, "O2_block", O2_block,
                                Shape<4>{A1.size(0), A1.size(1), heads.count, W1_block.size(1)},
                                "A1, W1_block and this rank's heads give");
    tessel::detail::check_writable(fn, "O2_block", O2_block);
    tessel::detail::check_no_overlap(fn, "O2_block", O2_block, "A1", A1);
    tessel::detail::check_no_overlap(fn, "O2_block", O2_block, "W1_block", W1_block);
  });
  agree.same("element type (0 float, 1 float16, 2 bfloat16)", detail::dtype_code<T>());
  agree.same("kernel path (0 scalar, 1 avx2, 2 avx512: set TESSEL_ISA alike)",
             static_cast<std::int64_t>(tessel::current_isa()));
  agree.same("A1.size(0)", A1.size(0));
  agree.same("A1.size(1)", A1.size(1));
  agree.same("A1.size(2)", A1.size(2));
  agree.same("num_heads", num_heads);
  agree.same("W1_block.size(1) (e)", W1_block.size(1));
  agree.settle(comm);

  const TensorView<const T, 3> mine = A1.narrow(2, heads.offset * hd, heads.count * hd);
  detail::run_on_agreed_route<T>(
      comm,
      [&] {
        if constexpr (std::is_same_v<T, bfloat16>) {
          const tessel::detail::Operand<const T> a{
              mine.data(), tessel::detail::Axis::strided(0), tessel::detail::merged_axis(mine.size(0), mine.stride(0), mine.size(1), mine.stride(1)),
              tessel::detail::Axis::strided(mine.stride(2))};
          return detail::operand_dpbf16_safe(a, 1, mine.size(0) * mine.size(1), mine.size(2)) &&
                 detail::operand_dpbf16_safe(detail::matrix_of(W1_block), 1, W1_block.size(0), W1_block.size(1));
        } else {
          return true;
        }
      },
      [&] {
        if (heads.count > 0) matmul_with_multi_head_into<T>(mine, W1_block, heads.count, O2_block);
      });
}

// The same into a new tensor [b, s, count, e].
template <ElementType T>
Tensor<T, 4> head_parallel_multi_head(const Communicator& comm, TensorView<const T, 3> A1,
                                      TensorView<const T, 2> W1_block, std::int64_t num_heads) {
  const Slice heads = num_heads >= 1 ? head_block(num_heads, comm) : Slice{};
  // (A bad shape is reported by the collective check; the output is sized from what it can.)
  Tensor<T, 4> O2(Shape<4>{A1.size(0), A1.size(1), heads.count, W1_block.size(1)}, uninitialized);
  head_parallel_multi_head_into<T>(comm, A1, W1_block, num_heads, O2.view());
  return O2;
}

// Deducing forms.
template <TensorLike X, TensorLike W>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && std::is_same_v<element_of_t<X>, element_of_t<W>>)
Tensor<element_of_t<X>, 4> head_parallel_multi_head(const Communicator& comm, const X& A1, const W& W1_block,
                                                    std::int64_t num_heads) {
  return head_parallel_multi_head<element_of_t<X>>(comm, as_const_view(A1), as_const_view(W1_block), num_heads);
}
template <TensorLike X, TensorLike W, TensorLike O>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<O> == 4 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<O>>)
void head_parallel_multi_head_into(const Communicator& comm, const X& A1, const W& W1_block, std::int64_t num_heads,
                                   O&& O2_block) {
  head_parallel_multi_head_into<element_of_t<X>>(comm, as_const_view(A1), as_const_view(W1_block), num_heads,
                                                 as_mutable_view(O2_block));
}

}  // namespace distributed
TESSEL_NAMESPACE_END
