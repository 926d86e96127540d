// tessel/distributed/communicator.hpp — the small layer over MPI that tessel's distributed
// operations stand on: MPI's lifetime (Environment), a private communicator (Communicator),
// MPI failures as exceptions (mpi_error), and the datatype that moves tessel's elements.
//
// Why a private communicator. tessel's collective operations exchange point-to-point
// messages whose tags mean something to tessel only. Run on the caller's communicator they
// could match a message the caller posted with the same tag. MPI_Comm_dup gives tessel its
// own matching space, so nothing tessel sends can ever be received by the caller's code (or
// the reverse). The duplicate also carries MPI_ERRORS_RETURN, so a failing MPI call becomes
// a tessel::distributed::mpi_error instead of MPI's default of aborting every process.
//
// Threads: every MPI call tessel makes comes from the thread that called the tessel
// function; the OpenMP threads of the engine never call MPI. MPI_THREAD_FUNNELED is enough
// (Environment asks for it).
#pragma once

#include "../core/config.hpp"

// tessel uses MPI's C interface only. Open MPI's and MPICH's <mpi.h> would also pull in the
// C++ bindings MPI-3 removed (which warn under -Wextra); these macros leave them out. (A
// program that includes <mpi.h> itself before tessel decides that for itself.)
#if !defined(OMPI_SKIP_MPICXX)
#define OMPI_SKIP_MPICXX 1
#endif
#if !defined(MPICH_SKIP_MPICXX)
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "../core/error.hpp"
#include "../gemm/bf16_route.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {

// An MPI call failed (MPI returned an error code rather than aborting): names the call and
// MPI's own description of the error.
class mpi_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

inline void check_mpi(int rc, std::string_view call) {
  if (rc == MPI_SUCCESS) [[likely]]
    return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(rc, text, &length) != MPI_SUCCESS) length = 0;
  throw mpi_error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

inline bool mpi_initialized() {
  int flag = 0;
  check_mpi(MPI_Initialized(&flag), "MPI_Initialized");
  return flag != 0;
}
inline bool mpi_finalized() {
  int flag = 0;
  check_mpi(MPI_Finalized(&flag), "MPI_Finalized");
  return flag != 0;
}

}  // namespace detail

// MPI's lifetime for a program that does not manage it itself: initialises MPI (asking for
// MPI_THREAD_FUNNELED) unless it is initialised already, and finalises it on destruction
// only if it initialised it. Create one at the top of main, before any Communicator.
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    if (detail::mpi_initialized()) return;
    int provided = 0;
    detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_ = true;
  }
  Environment() {
    if (detail::mpi_initialized()) return;
    int provided = 0;
    detail::check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    owns_ = true;
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    if (owns_ && !detail::mpi_finalized()) MPI_Finalize();
  }

 private:
  bool owns_ = false;
};

// tessel's own duplicate of a caller's communicator (see the top of this file). The ranks
// and their order are the caller's. Collective to construct (MPI_Comm_dup, and rank 0's
// bfloat16 route measurement shared: share_bf16_route_measurement) and to destroy
// (MPI_Comm_free): every rank of the communicator must create and destroy it together.
class Communicator {
 public:
  explicit Communicator(MPI_Comm comm = MPI_COMM_WORLD) {
    tessel::detail::check(comm != MPI_COMM_NULL, "distributed::Communicator", "the communicator is MPI_COMM_NULL");
    detail::check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
    const int rc = MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) MPI_Comm_free(&comm_);
    detail::check_mpi(rc, "MPI_Comm_set_errhandler");
    detail::check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    detail::check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    share_bf16_route_measurement();
  }
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;
  Communicator(Communicator&& other) noexcept
      : comm_(std::exchange(other.comm_, MPI_COMM_NULL)), rank_(other.rank_), size_(other.size_) {}
  Communicator& operator=(Communicator&& other) noexcept {
    if (this != &other) {
      release();
      comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
      rank_ = other.rank_, size_ = other.size_;
    }
    return *this;
  }
  ~Communicator() { release(); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm get() const { return comm_; }

 private:
  // Every rank adopts rank 0's measured bfloat16 route (gemm/bf16_route.hpp), so that the
  // ranks' products agree in their bits even where two processes would measure differently:
  // the single-process calls a rank makes, and the one-rank runs a test compares against,
  // then take the route the distributed operations agree on (distributed/bf16_route.hpp).
  // Only rank 0 measures. A failure frees the duplicate (the destructor will not run).
  void share_bf16_route_measurement() {
    int route = rank_ == 0 ? static_cast<int>(tessel::detail::measured_bf16_route()) : 0;
    const int rc = MPI_Bcast(&route, 1, MPI_INT, 0, comm_);
    if (rc != MPI_SUCCESS) MPI_Comm_free(&comm_);
    detail::check_mpi(rc, "MPI_Bcast");
    if (rank_ != 0) tessel::detail::adopt_measured_bf16_route(static_cast<tessel::detail::Bf16Route>(route));
  }
  void release() noexcept {
    if (comm_ != MPI_COMM_NULL && !detail::mpi_finalized()) MPI_Comm_free(&comm_);
    comm_ = MPI_COMM_NULL;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

namespace detail {

// The MPI datatype of one tessel element: sizeof(T) bytes, moved as they are (MPI never
// converts them: all ranks share one representation). Created once per type.
template <class T>
MPI_Datatype element_datatype() {
  static const MPI_Datatype type = [] {
    MPI_Datatype t;
    check_mpi(MPI_Type_contiguous(static_cast<int>(sizeof(T)), MPI_BYTE, &t), "MPI_Type_contiguous");
    check_mpi(MPI_Type_commit(&t), "MPI_Type_commit");
    return t;
  }();
  return type;
}

// MPI counts are ints: a message of more elements than INT_MAX cannot be described by one.
inline int mpi_count(std::string_view fn, const char* what, std::int64_t n) {
  tessel::detail::check(n >= 0 && n <= INT_MAX, fn, what, " has ", n,
                        " elements, more than one MPI message can count (INT_MAX = ", INT_MAX, ")");
  return static_cast<int>(n);
}

}  // namespace detail
}  // namespace distributed
TESSEL_NAMESPACE_END
