// tessel/distributed/bf16_route.hpp — one bfloat16 kernel route per product, for all ranks.
//
// On the AVX-512 path a bfloat16 product takes one of three routes (gemm/bf16_route.hpp):
// AMX tiles (amx), vdpbf16ps (dpbf16), or conversion to fp32 and FMAs (fma). They sum a pair
// of products in different orders, so their bits may differ. The choice depends on
//   * a preference: TESSEL_BF16_ROUTE / set_bf16_route, else amx where the CPU and OS allow
//     it, else a timing measurement made once per process (which two processes may make
//     differently where the rates are close; the ranks of a Communicator adopt rank 0's, see
//     communicator.hpp), and
//   * the data: in automatic mode a call whose inputs hold a tiny value (nonzero, |x| < 2^-40)
//     takes the fma route as a whole.
// A product cut across ranks is several calls, one per rank, each seeing only its own rows or
// heads: left alone, a rank without tiny values would take amx or dpbf16 while the rank
// holding the tiny value takes fma, and the result would depend on how the data was cut. So
// the route is agreed before the product runs:
//   amx or dpbf16  iff rank 0 prefers it, every rank can run it, and either rank 0 forces it
//                  unguarded (TESSEL_BF16_ROUTE=amx or dpbf16) or no rank's inputs of this
//                  product hold a tiny value;
//   fma            otherwise.
// With every input on one process this is exactly the choice the single-process call makes
// (rank 0's preference; its guard sees the union of the ranks' inputs), so the distributed
// result is the single-process result, for any number of ranks. Rank 0's preference decides
// because a forced one (TESSEL_BF16_ROUTE is read by each process) can differ between ranks;
// the measured one cannot within a job (every rank adopted rank 0's when the Communicator
// was made). Runs with different rank counts agree as long as rank 0 prefers the same route
// (pin it with TESSEL_BF16_ROUTE to compare runs made at different times).
//
// A rank whose own call would take another route pins the process's route setting to the
// agreed one for the duration of the product (RouteScope) and then restores it. A product
// that a rank runs as several engine calls, each on part of its inputs (data_parallel.hpp's
// dW1 chunks), has no single route of its own when those inputs hold a tiny value and the
// route is chosen automatically: each call's guard decides for its own part, and the calls
// whose part holds none would take the flushing route. Such a rank pins the agreed route
// (fma) for all of them.
//
// The setting is process-wide: a bfloat16 product that another thread of the process runs
// meanwhile takes the pinned route too (correct, as every route is; only with an agreed
// flushing route pinned, unguarded, could that product's own tiny values be flushed). Run
// distributed bfloat16 operations from one thread at a time, as MPI_THREAD_FUNNELED asks anyway.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <type_traits>

#include "../core/dtype.hpp"
#include "../core/tensor_view.hpp"
#include "../gemm/bf16_guard.hpp"
#include "../gemm/bf16_route.hpp"
#include "../gemm/kernel_avx512_bf16.hpp"
#include "../gemm/problem.hpp"
#include "../simd/cpu_features.hpp"
#include "communicator.hpp"

TESSEL_NAMESPACE_BEGIN
namespace distributed {
namespace detail {

using tessel::detail::Bf16Route;

// Whether the products of T on this process's kernel path can take a route other than fma.
template <class T>
bool has_route_choice() {
  if constexpr (!std::is_same_v<T, bfloat16>) return false;
  else
    return tessel::current_isa() == Isa::avx512 &&
           (tessel::detail::dpbf16_available() || tessel::detail::amx_available());
}

// Whether the rows × cols operand `o` (in `batch` batches) holds no tiny bfloat16.
inline bool operand_dpbf16_safe(const tessel::detail::Operand<const bfloat16>& o, std::int64_t batch,
                                std::int64_t rows, std::int64_t cols) {
  return !tessel::detail::bf16_operand_has_tiny(o, batch, rows, cols);
}

// A 2-D view as the operand the engine reads (for the scan).
template <class T>
tessel::detail::Operand<const T> matrix_of(const TensorView<const T, 2>& W) {
  return {W.data(), tessel::detail::Axis::strided(0), tessel::detail::Axis::strided(W.stride(0)), tessel::detail::Axis::strided(W.stride(1))};
}

// The agreed route of one product (collective over comm). `inputs_safe` says whether this
// rank's inputs of the product pass the guard; it is only evaluated where it matters.
template <class T, class SafeFn>
Bf16Route agree_route(const Communicator& comm, SafeFn&& inputs_safe) {
  if constexpr (!std::is_same_v<T, bfloat16>) {
    return Bf16Route::fma;
  } else {
    // Every rank reaches the collective whatever its path, so that none waits for the others.
    // The kernel paths agree (checked by the operations before they get here), so either all
    // ranks are on AVX-512 or none is; on the others the route does not exist (fma).
    const bool choice = has_route_choice<T>();
    std::int64_t v[5] = {0, 0, 0, 0, 0};
    if (comm.rank() == 0 && choice) {
      v[0] = static_cast<std::int64_t>(tessel::detail::bf16_route());  // fma 0, dpbf16 1, amx 2
      v[1] = tessel::detail::bf16_route_forced() ? 1 : 0;                // forced: unguarded
    }
    v[2] = choice && tessel::detail::dpbf16_available() ? 0 : 1;  // a rank that cannot run vdpbf16ps
    v[3] = choice && tessel::detail::amx_available() ? 0 : 1;     // a rank that cannot run AMX
    v[4] = choice && !inputs_safe() ? 1 : 0;
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, v, 5, MPI_INT64_T, MPI_MAX, comm.get()), "MPI_Allreduce");
    const auto preferred = static_cast<Bf16Route>(v[0]);
    const bool runs_everywhere =
        (preferred == Bf16Route::dpbf16 && v[2] == 0) || (preferred == Bf16Route::amx && v[3] == 0);
    return runs_everywhere && (v[1] != 0 || v[4] == 0) ? preferred : Bf16Route::fma;
  }
}

// How this rank runs a product: one engine call (its guard sees all of this rank's inputs of
// the product) or several, each on part of those inputs (each guard sees only its part).
enum class Calls : unsigned char { one, several };

// Holds the process's bfloat16 route at `agreed` while it lives, when this rank's own calls
// would otherwise not all take it (`local_safe`: its inputs pass the guard); restores the
// previous setting (forced or automatic) afterwards, also when the product throws.
class RouteScope {
 public:
  template <class T>
  static RouteScope make(Bf16Route agreed, bool local_safe, Calls calls = Calls::one) {
    RouteScope s;
    if (!has_route_choice<T>()) return s;
    const Bf16Route preferred = tessel::detail::bf16_route();
    const bool forced = tessel::detail::bf16_route_forced();
    const Bf16Route natural = forced || local_safe ? preferred : Bf16Route::fma;
    // Unsafe inputs under an automatic flushing preference: one call takes fma as a whole,
    // but of several calls only those whose part holds the tiny value do.
    const bool uniform = calls == Calls::one || forced || local_safe || preferred == Bf16Route::fma;
    if (uniform && natural == agreed) return s;
    s.previous_ = static_cast<Bf16Route>(tessel::detail::bf16_route_setting().load());
    s.active_ = true;
    tessel::detail::set_bf16_route(agreed);
    return s;
  }
  RouteScope(RouteScope&& o) noexcept : previous_(o.previous_), active_(o.active_) { o.active_ = false; }
  RouteScope(const RouteScope&) = delete;
  RouteScope& operator=(const RouteScope&) = delete;
  RouteScope& operator=(RouteScope&&) = delete;
  ~RouteScope() {
    if (active_) tessel::detail::set_bf16_route(previous_);
  }

 private:
  RouteScope() = default;
  Bf16Route previous_ = Bf16Route::automatic;
  bool active_ = false;
};

// Runs `product` on the route all ranks of comm agree on; `inputs_safe` as for agree_route
// (over all of this rank's inputs of the product), `calls` how many engine calls the product
// makes on this rank (RouteScope). The route stays pinned until `product` returns or throws.
// Collective.
template <class T, class SafeFn, class ProductFn>
void run_on_agreed_route(const Communicator& comm, SafeFn&& inputs_safe, ProductFn&& product,
                         Calls calls = Calls::one) {
  if constexpr (!std::is_same_v<T, bfloat16>) {
    product();
  } else {
    // Evaluate the scan once: it is both this rank's vote and its own natural route.
    const bool choice = has_route_choice<T>();
    const bool safe = choice ? static_cast<bool>(inputs_safe()) : true;
    const Bf16Route agreed = agree_route<T>(comm, [safe] { return safe; });
    RouteScope scope = RouteScope::make<T>(agreed, safe, calls);
    product();
  }
}

}  // namespace detail
}  // namespace distributed
TESSEL_NAMESPACE_END
