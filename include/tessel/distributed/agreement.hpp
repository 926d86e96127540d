// tessel/distributed/agreement.hpp — validating a collective call on every rank at once.
//
// A collective operation whose arguments are wrong on one rank must not throw on that rank
// alone: the others would wait for it forever in their next MPI call. So every distributed
// operation validates in two steps:
//   1. each rank checks its own arguments (the same shape_error checks as tessel's local
//      calls) and records the first failure instead of throwing it, and names the values
//      every rank must agree on (sizes, options, the kernel path, a hash of a replicated
//      weight);
//   2. Agreement::settle exchanges all of it in one MPI_Allgather (plus a broadcast of the
//      message when a rank failed), and then either every rank returns or every rank throws
//      the same tessel::shape_error: the failing rank's own message (the lowest failing rank's,
//      when several fail) followed by "(on rank r of P)", or, when the ranks disagree, a
//      message naming the quantity and the ranks' values.
// Nothing is written to caller memory before settle returns.
#pragma once

#include "../core/config.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "communicator.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {
namespace detail {

class Agreement {
 public:
  explicit Agreement(std::string_view fn) : fn_(fn) {}

  // Runs the local check `f`; a shape_error it throws is kept for settle (only the first).
  template <class F>
  void local(F&& f) {
    if (!error_.empty()) return;  // later checks may rely on what the failed one checked
    try {
      f();
    } catch (const shape_error& e) {
      error_ = e.what();
      if (error_.empty()) error_ = std::string(fn_) + ": invalid argument";
    }
  }
  bool failed() const { return !error_.empty(); }

  // A value every rank must have the same of, and its name for the message.
  void same(std::string name, std::int64_t value) { values_.push_back({std::move(name), value, false}); }
  void same_real(std::string name, double value) {
    values_.push_back({std::move(name), std::bit_cast<std::int64_t>(value), true});
  }

  // Collective: see the top of the file.
  void settle(const Communicator& comm) {
    const int p = comm.size();
    // Row per rank: [failed, v0, v1, ...]. A failed rank may have recorded fewer values; it
    // pads with zeros (its values are not compared then).
    std::size_t n = values_.size();
    std::int64_t n_max = static_cast<std::int64_t>(n);
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, &n_max, 1, MPI_INT64_T, MPI_MAX, comm.get()), "MPI_Allreduce");
    const auto width = static_cast<std::size_t>(n_max) + 1;
    std::vector<std::int64_t> row(width, 0), all(width * static_cast<std::size_t>(p), 0);
    row[0] = failed() ? 1 : 0;
    for (std::size_t i = 0; i < n; ++i) row[i + 1] = values_[i].bits;
    check_mpi(MPI_Allgather(row.data(), static_cast<int>(width), MPI_INT64_T, all.data(), static_cast<int>(width),
                            MPI_INT64_T, comm.get()),
              "MPI_Allgather");
    int first_failed = -1;
    for (int r = 0; r < p && first_failed < 0; ++r)
      if (all[static_cast<std::size_t>(r) * width] != 0) first_failed = r;
    if (first_failed >= 0) {
      // Everyone learns the failing rank's message and throws it.
      std::string message = comm.rank() == first_failed ? error_ : std::string();
      std::int64_t length = static_cast<std::int64_t>(message.size());
      check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, first_failed, comm.get()), "MPI_Bcast");
      message.resize(static_cast<std::size_t>(length));
      check_mpi(MPI_Bcast(message.data(), static_cast<int>(length), MPI_CHAR, first_failed, comm.get()), "MPI_Bcast");
      std::ostringstream os;
      os << message << " (on rank " << first_failed << " of " << p << ")";
      throw shape_error(os.str());
    }
    // Every rank passed its own checks, so every rank recorded the same list of values.
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t v0 = all[i + 1];
      for (int r = 1; r < p; ++r) {
        const std::int64_t vr = all[static_cast<std::size_t>(r) * width + i + 1];
        if (vr != v0) {
          std::ostringstream os;
          os << fn_ << ": every rank must pass the same " << values_[i].name << ", but rank 0 has ";
          print(os, values_[i], v0);
          os << " and rank " << r << " has ";
          print(os, values_[i], vr);
          throw shape_error(os.str());
        }
      }
    }
  }

 private:
  struct Value {
    std::string name;
    std::int64_t bits;
    bool is_double;
  };
  static void print(std::ostringstream& os, const Value& v, std::int64_t bits) {
    if (v.is_double) os << std::bit_cast<double>(bits);
    else os << bits;
  }

  std::string_view fn_;
  std::string error_;
  std::vector<Value> values_;
};

// The element type as a number every rank can compare.
template <class T>
constexpr std::int64_t dtype_code() {
  return std::is_same_v<T, float> ? 0 : std::is_same_v<T, float16> ? 1 : 2;
}

// A 64-bit hash of a view's elements in logical (row-major index) order, over their bytes:
// a replicated tensor (a data-parallel weight) that differs on one rank is caught before
// the ranks silently compute with different weights. (FNV-1a's multiply, one element at a
// time: not cryptographic, only a check that copies agree.)
template <class T, std::size_t R, class View>
std::uint64_t hash_elements(const View& v) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](const T& x) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &x, sizeof(T));
    h = (h ^ bits) * 0x100000001b3ull;
    h ^= h >> 29;
  };
  if (v.numel() == 0) return h;
  std::array<std::int64_t, R> idx{};
  const T* base = v.data();
  for (;;) {
    // innermost dimension as a strided run
    std::int64_t off = 0;
    for (std::size_t d = 0; d + 1 < R; ++d) off += idx[d] * v.stride(static_cast<std::int64_t>(d));
    const std::int64_t n = v.size(R - 1), st = v.stride(R - 1);
    for (std::int64_t j = 0; j < n; ++j) mix(base[off + j * st]);
    std::size_t d = R - 1;
    for (;;) {
      if (d == 0) return h;
      --d;
      if (++idx[d] < v.size(static_cast<std::int64_t>(d))) break;
      idx[d] = 0;
    }
  }
}

}  // namespace detail
}  // namespace distributed
TESSEL_NAMESPACE_END
