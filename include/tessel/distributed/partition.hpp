// tessel/distributed/partition.hpp — which part of a distributed axis each rank holds.
//
// tessel's distributed operations cut one axis across the ranks of a communicator into
// consecutive slices in rank order: rank 0 holds the first slice, rank 1 the next, and so
// on. Data parallel cuts the batch (each rank passes its own slice; any sizes, including
// empty ones, so the caller chooses the split); head parallel cuts the heads (the split is
// tessel's: even_split). Slices are exchanged with one MPI_Allgather of the sizes.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <vector>

#include "../core/error.hpp"
#include "communicator.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {

// A rank's slice [offset, offset + count) of an axis of `total` entries.
struct Slice {
  std::int64_t offset = 0, count = 0, total = 0;
  bool operator==(const Slice&) const = default;
};

// The split tessel uses where it chooses (head parallel; a reasonable batch split too):
// `total` entries in `parts` consecutive slices whose sizes differ by at most one, the
// larger ones first (as numpy.array_split; 10 over 4 gives 3, 3, 2, 2). parts > total leaves
// the last slices empty.
inline Slice even_split(std::int64_t total, int parts, int index) {
  tessel::detail::check(total >= 0, "distributed::even_split", "total must be >= 0, got ", total);
  tessel::detail::check(parts >= 1 && index >= 0 && index < parts, "distributed::even_split",
                        "index must be in [0, parts) with parts >= 1, got index ", index, " of ", parts);
  const std::int64_t base = total / parts, extra = total % parts;
  const std::int64_t count = base + (index < extra ? 1 : 0);
  const std::int64_t offset = index * base + (index < extra ? index : extra);
  return Slice{offset, count, total};
}
inline Slice even_split(std::int64_t total, const Communicator& comm) {
  return even_split(total, comm.size(), comm.rank());
}

namespace detail {

// Every rank's count of a distributed axis (collective), in rank order.
inline std::vector<std::int64_t> all_counts(const Communicator& comm, std::int64_t count) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(comm.size()));
  check_mpi(MPI_Allgather(&count, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, comm.get()), "MPI_Allgather");
  return counts;
}

// Rank r's slice given every rank's count.
inline Slice slice_of(const std::vector<std::int64_t>& counts, int r) {
  Slice s;
  for (int q = 0; q < static_cast<int>(counts.size()); ++q) {
    if (q < r) s.offset += counts[static_cast<std::size_t>(q)];
    s.total += counts[static_cast<std::size_t>(q)];
  }
  s.count = counts[static_cast<std::size_t>(r)];
  return s;
}

}  // namespace detail
}  // namespace distributed
TESSEL_NAMESPACE_END
