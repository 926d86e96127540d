// tessel/distributed/ordered_sum.hpp — an fp32 sum over ranks whose order is fixed by the
// data, not by the number of ranks.
//
// The summands are C chunks (c = 0 … C-1, each an array of n floats computed by `leaf`),
// held by the ranks in consecutive runs: rank r holds chunks [c0_r, c1_r). The sum is the
// one binary tree over chunk indices whose nodes are aligned blocks:
//
//   node (L, k) covers chunks [k·2^L, (k+1)·2^L) ∩ [0, C)
//   value(0, k) = leaf(k)
//   value(L, k) = value(L-1, 2k) + value(L-1, 2k+1)      (the left child alone when the
//                                                         right one starts at or past C)
//   the sum     = value(⌈log2 C⌉, 0)
//
// Every floating-point addition is determined by C alone, so the bits of the sum are the
// same for any number of ranks and any way of cutting the chunks among them (1, 2, 4 ranks,
// uneven runs, empty ranks), which MPI_Allreduce does not promise (its order depends on the
// rank count and the algorithm the library picks). A node is computed by the rank that holds
// its first chunk; a right child held by a later rank is sent to it (tag = the child's
// level). Why a tree rather than a chain through the ranks in order (rank r adds its chunks
// to the running sum from rank r-1 and passes it on): a chain fixes the order just as well,
// but rank r cannot add its first chunk before rank r-1 is done, so either the ranks compute
// their chunk partials one after another, or each keeps all of its partials until the chain
// reaches it (memory for b/P arrays of n floats) and the step still waits P - 1 hops. In the
// tree every rank computes its own subtrees at once, holds at most ~2·log2 C arrays, sends
// at most ~log2 C of them, and the last message arrives after at most ⌈log2 C⌉ levels.
//
// Which nodes a rank sends: those it holds whose parent starts on an earlier rank. Starting
// at x = c0 they are x's block at level ctz(x), then the block after it, and so on
// (x += 2^ctz(x)) while x < c1 — each is a right child whose left sibling lies before c0.
// Sends are non-blocking and receives come only from later ranks, so no rank can wait on a
// rank that waits on it: the last rank holding chunks receives nothing, and by induction
// every rank's receives are eventually matched.
#pragma once

#include "../core/config.hpp"

#include <bit>
#include <cstdint>
#include <string_view>
#include <vector>

#include "communicator.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {
namespace detail {

// Sums the chunks in the tree order above (collective over comm). `chunk_counts[r]` is how
// many chunks rank r holds; `leaf(c, out)` writes the n floats of this rank's global chunk c.
// The rank holding chunk 0 writes the sum into `total` (n floats) and that rank is returned;
// with no chunks at all nothing is written anywhere and -1 is returned.
template <class Leaf>
int ordered_sum(const Communicator& comm, std::string_view fn, const std::vector<std::int64_t>& chunk_counts,
                std::int64_t n, Leaf&& leaf, float* total) {
  const int p = comm.size(), me = comm.rank();
  std::vector<std::int64_t> first(static_cast<std::size_t>(p) + 1, 0);
  for (int r = 0; r < p; ++r) first[r + 1] = first[r] + chunk_counts[static_cast<std::size_t>(r)];
  const std::int64_t chunks = first[p];
  if (chunks == 0) return -1;
  const int count = mpi_count(fn, "a partial sum", n);
  auto owner = [&](std::int64_t c) {  // the rank holding chunk c
    int r = 0;
    while (first[r + 1] <= c) ++r;
    return r;
  };
  int top = 0;
  while ((std::int64_t{1} << top) < chunks) ++top;
  const std::int64_t c0 = first[me], c1 = first[me + 1];

  // Scratch for right children, one array per level (a level-L node uses level L-1's while
  // its left subtree, which only uses lower levels, is already done).
  std::vector<std::vector<float>> right(static_cast<std::size_t>(top));
  auto scratch = [&](int level) -> float* {
    auto& v = right[static_cast<std::size_t>(level)];
    if (v.empty()) v.resize(static_cast<std::size_t>(n));
    return v.data();
  };
  auto eval = [&](auto&& self, int level, std::int64_t k, float* out) -> void {
    const std::int64_t lo = k << level;
    if (level == 0) {
      leaf(lo, out);
      return;
    }
    self(self, level - 1, 2 * k, out);
    const std::int64_t rlo = (2 * k + 1) << (level - 1);
    if (rlo >= chunks) return;
    float* r = scratch(level - 1);
    if (rlo < c1) {
      self(self, level - 1, 2 * k + 1, r);
    } else {
      check_mpi(MPI_Recv(r, count, MPI_FLOAT, owner(rlo), level - 1, comm.get(), MPI_STATUS_IGNORE), "MPI_Recv");
    }
    for (std::int64_t i = 0; i < n; ++i) out[i] = out[i] + r[i];
  };

  if (c0 == c1) return owner(0);
  if (c0 == 0) {
    eval(eval, top, 0, total);
    return me;
  }
  std::vector<std::vector<float>> outgoing;
  std::vector<MPI_Request> requests;
  outgoing.reserve(static_cast<std::size_t>(top) + 1);
  requests.reserve(static_cast<std::size_t>(top) + 1);
  // (If anything below throws, the pending sends still point into `outgoing`: wait first.)
  struct WaitAll {
    std::vector<MPI_Request>& r;
    ~WaitAll() {
      if (!r.empty()) MPI_Waitall(static_cast<int>(r.size()), r.data(), MPI_STATUSES_IGNORE);
    }
  } wait_all{requests};
  for (std::int64_t x = c0; x < c1;) {
    const int level = std::countr_zero(static_cast<std::uint64_t>(x));
    outgoing.emplace_back(static_cast<std::size_t>(n));
    eval(eval, level, x >> level, outgoing.back().data());
    MPI_Request req;
    check_mpi(MPI_Isend(outgoing.back().data(), count, MPI_FLOAT, owner(x - (std::int64_t{1} << level)), level,
                        comm.get(), &req),
              "MPI_Isend");
    requests.push_back(req);
    x += std::int64_t{1} << level;
  }
  const int rc = MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  requests.clear();
  check_mpi(rc, "MPI_Waitall");
  return owner(0);
}

}  // namespace detail
}  // namespace distributed
TESSEL_NAMESPACE_END
