// tessel/distributed/gather.hpp — assembling a distributed tensor into a caller's tensor.
//
// Every rank holds one slice of a tensor along one dimension, in rank order (data parallel:
// O3's rows and dA1's batch entries along dimension 0; head parallel: O2's heads along
// dimension 2). gather_into concatenates the slices, in rank order, into `out`, a caller's
// view with any strides: on one root rank (MPI_Gatherv), or on every rank (all_ranks:
// MPI_Allgatherv). The slices may have different sizes along the dimension (uneven splits,
// empty ranks); every other size must agree. Elements travel as raw bytes (one MPI datatype
// of sizeof(T) bytes): the ranks share one representation of T.
#pragma once

#include "../core/config.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <tuple>
#include <type_traits>
#include <string>
#include <string_view>
#include <vector>

#include "../core/error.hpp"
#include "../core/tensor.hpp"
#include "../core/tensor_view.hpp"
#include "../ops/operands.hpp"
#include "agreement.hpp"
#include "communicator.hpp"
#include "partition.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {

// gather_into's root for "every rank receives the whole tensor".
inline constexpr int all_ranks = -1;

// Collective over comm. Concatenates every rank's `local` along `dim` (negative counts from
// the end) into `out` on `root`, or on every rank when root is all_ranks. `out` is required
// where it is received (shape: local's with the sum of the ranks' sizes along dim) and
// ignored elsewhere (pass std::nullopt). Every rank must pass the same dim and root. Bad
// arguments on any rank throw the same shape_error on every rank before anything is sent.
template <ElementType T, std::size_t R>
void gather_into(const Communicator& comm, TensorView<const T, R> local, std::int64_t dim,
                 std::optional<TensorView<T, R>> out, int root = 0) {
  constexpr std::string_view fn = "distributed::gather_into";
  const int p = comm.size(), me = comm.rank();
  const std::int64_t d = dim < 0 ? dim + static_cast<std::int64_t>(R) : dim;
  const bool dim_ok = d >= 0 && d < static_cast<std::int64_t>(R);
  const std::vector<std::int64_t> counts = detail::all_counts(comm, dim_ok ? local.size(d) : 0);
  const bool receives = root == all_ranks || root == me;

  detail::Agreement agree(fn);
  agree.local([&] {
    tessel::detail::check(dim_ok, fn, "dim ", dim, " is out of range for a tensor of ", R, " dimensions");
    tessel::detail::check(root == all_ranks || (root >= 0 && root < p), fn, "root must be a rank in [0, ", p,
                          ") or distributed::all_ranks, got ", root);
  });
  agree.same("dim", dim_ok ? d : -1);
  agree.same("root", root);
  for (std::size_t q = 0; q < R; ++q)
    if (static_cast<std::int64_t>(q) != d) agree.same("size of dimension " + std::to_string(q), local.size(q));
  Shape<R> full = local.shape();
  if (dim_ok) full[static_cast<std::size_t>(d)] = detail::slice_of(counts, 0).total;
  agree.local([&] {
    if (!receives) return;
    tessel::detail::check(out.has_value(), fn, "out is required on the receiving rank ", me);
    tessel::detail::check_shape(fn, "out", *out, full, "the ranks' slices concatenated along dim give");
    tessel::detail::check_writable(fn, "out", *out);
    tessel::detail::check_output_size<T>(fn, "out", full);
  });
  // The counts of elements per rank, which MPI needs as ints.
  std::int64_t per_entry = 1;
  for (std::size_t q = 0; q < R; ++q)
    if (static_cast<std::int64_t>(q) != d) per_entry *= local.size(q);
  agree.local([&] {
    std::int64_t sum = 0;
    for (auto c : counts) sum += c * per_entry;
    detail::mpi_count(fn, "the gathered tensor", sum);
  });
  agree.settle(comm);

  std::vector<int> elems(static_cast<std::size_t>(p)), displs(static_cast<std::size_t>(p));
  std::int64_t at = 0;
  for (int r = 0; r < p; ++r) {
    elems[static_cast<std::size_t>(r)] = static_cast<int>(counts[static_cast<std::size_t>(r)] * per_entry);
    displs[static_cast<std::size_t>(r)] = static_cast<int>(at);
    at += counts[static_cast<std::size_t>(r)] * per_entry;
  }
  // The slices travel contiguous, dim moved to the front (so each rank's slice is one run).
  auto front = [&](auto v) {  // v with dim d first
    std::array<std::int64_t, R> order{};
    order[0] = d;
    for (std::int64_t q = 0, i = 1; q < static_cast<std::int64_t>(R); ++q)
      if (q != d) order[static_cast<std::size_t>(i++)] = q;
    return std::apply([&](auto... o) { return v.permute(o...); }, order);
  };
  Tensor<T, R> send(front(local).shape(), uninitialized);
  send.view().copy_(front(local));
  Shape<R> recv_shape{};
  recv_shape[0] = full[static_cast<std::size_t>(d)];
  for (std::int64_t q = 0, i = 1; q < static_cast<std::int64_t>(R); ++q)
    if (q != d) recv_shape[static_cast<std::size_t>(i++)] = full[static_cast<std::size_t>(q)];
  std::optional<Tensor<T, R>> recv;
  if (receives) recv.emplace(recv_shape, uninitialized);
  const MPI_Datatype type = detail::element_datatype<T>();
  const int mine = elems[static_cast<std::size_t>(me)];
  if (root == all_ranks) {
    detail::check_mpi(MPI_Allgatherv(send.data(), mine, type, recv->data(), elems.data(), displs.data(), type,
                                     comm.get()),
                      "MPI_Allgatherv");
  } else {
    detail::check_mpi(MPI_Gatherv(send.data(), mine, type, receives ? recv->data() : nullptr, elems.data(),
                                  displs.data(), type, root, comm.get()),
                      "MPI_Gatherv");
  }
  if (receives) front(*out).copy_(recv->view());
}

// Deducing form: Tensors and views of any constness.
template <TensorLike L, TensorLike O>
  requires(rank_of_v<L> == rank_of_v<O> && std::is_same_v<element_of_t<L>, element_of_t<O>>)
void gather_into(const Communicator& comm, const L& local, std::int64_t dim, O&& out, int root = 0) {
  using T = element_of_t<L>;
  gather_into<T, rank_of_v<L>>(comm, as_const_view(local), dim,
                               std::optional<TensorView<T, rank_of_v<L>>>(as_mutable_view(out)), root);
}

// Deducing form for the ranks that only send.
template <TensorLike L>
void gather_into(const Communicator& comm, const L& local, std::int64_t dim, std::nullopt_t, int root = 0) {
  using T = element_of_t<L>;
  gather_into<T, rank_of_v<L>>(comm, as_const_view(local), dim, std::optional<TensorView<T, rank_of_v<L>>>(), root);
}

}  // namespace distributed
TESSEL_NAMESPACE_END
