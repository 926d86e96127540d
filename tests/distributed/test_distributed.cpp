// tests/distributed/test_distributed.cpp — tessel/distributed.hpp on however many ranks
// mpirun starts (CTest runs it with -np 1, 2 and 4).
//
// Every rank builds the same global inputs from fixed seeds and passes its own slice, so
// the results can be checked against the single-process calls on the whole batch (computed
// on every rank) and against fp64 loops (tests/support/reference.hpp):
//   * data parallel: O3, dA1 (gathered) and the selection bit-identical to the single-process
//     matmul_with_importance; dW1 bit-identical across splits of the batch (even, uneven, with
//     empty ranks) and to the same call on one rank (MPI_COMM_SELF), and within the fp32
//     accumulation bound of the fp64 reference;
//   * the bfloat16 route agreement: a tiny value on one rank's rows sends every rank to the
//     fma route, as the single-process guard does; dW1's chunks all take the agreed route
//     (the one-rank run with that route forced), with a tiny value or without; the route
//     setting is pinned while a product runs and restored after, also when it throws;
//   * what the data-parallel backward allocates: dA1, dW1 and its broadcast buffer, nothing
//     per chunk (memory_stats());
//   * head parallel: the gathered O2 bit-identical to the single-process multi-head matmul
//     (uneven head blocks, ranks without heads, a strided out on a non-zero root);
//   * invalid or inconsistent arguments on one rank throw the same shape_error on every rank,
//     and the communicator stays usable afterwards.
// Prints "<checks> checks, <failed> failed" on rank 0; exits 1 when any check failed anywhere.
#include <tessel/distributed.hpp>
#include <tessel/tessel.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/reference.hpp"

namespace dist = tessel::distributed;
using tessel::bfloat16;
using tessel::float16;
using tessel::Shape;
using tessel::Tensor;
using tessel::TensorView;
using namespace tessel_test;

namespace {

int g_rank = 0;
std::int64_t g_checks = 0, g_failed = 0;

void check(bool ok, const std::string& what) {
  ++g_checks;
  if (!ok) {
    ++g_failed;
    std::fprintf(stderr, "rank %d: FAILED: %s\n", g_rank, what.c_str());
  }
}

// Expects f to throw a shape_error whose message contains `needle`, on this rank.
void check_throws(const std::function<void()>& f, const std::string& needle, const std::string& what) {
  try {
    f();
    check(false, what + ": no exception");
  } catch (const tessel::shape_error& e) {
    check(std::string(e.what()).find(needle) != std::string::npos,
          what + ": message \"" + e.what() + "\" lacks \"" + needle + "\"");
  }
}

// The batch split for a test: rank r's slice of b entries.
enum class Split { even, uneven };
dist::Slice split_of(Split how, std::int64_t b, const dist::Communicator& comm) {
  if (how == Split::even || comm.size() == 1) return dist::even_split(b, comm);
  // Uneven, with empty ranks where there are enough: P = 2: [b-1, 1]; P = 4: [0, b-2, 0, 2].
  std::vector<std::int64_t> counts(static_cast<std::size_t>(comm.size()), 0);
  if (comm.size() == 2) counts = {b - 1, 1};
  else if (comm.size() == 4) counts = {0, b - 2, 0, 2};
  else return dist::even_split(b, comm);
  dist::Slice s{0, counts[static_cast<std::size_t>(comm.rank())], b};
  for (int r = 0; r < comm.rank(); ++r) s.offset += counts[static_cast<std::size_t>(r)];
  return s;
}

struct Layer {
  std::int64_t b = 5, s = 7, h = 32, nh = 4, e = 24;
  tessel::ImportanceOptions opt{.top_p = 0.25, .top_k = 4};
};

template <class T>
struct Inputs {
  Tensor<T, 3> A1;
  Tensor<T, 2> W1, P;
  Tensor<T, 3> dO3;  // for the global selection
  std::vector<std::int64_t> selected;
};

template <class T>
Inputs<T> make_inputs(const Layer& L, std::uint32_t seed) {
  Inputs<T> in{random_tensor<T, 3>({L.b, L.s, L.h}, seed), random_tensor<T, 2>({L.h, L.e}, seed + 1),
               random_tensor<T, 2>({L.b, L.s}, seed + 2, 0.0, 1.0), Tensor<T, 3>(Shape<3>{0, L.nh, L.e}), {}};
  in.selected = tessel::select_important(in.P, L.opt);
  in.dO3 = random_tensor<T, 3>({static_cast<std::int64_t>(in.selected.size()), L.nh, L.e}, seed + 3);
  return in;
}

// One data-parallel step on `comm` with this rank's slice; returns the gathered O3 and dA1
// and the replicated dW1 (on every rank).
template <class T>
struct Gathered {
  Tensor<T, 3> O3, dA1;
  Tensor<T, 2> dW1;
  std::vector<std::int64_t> selected;  // global positions
};
template <class T>
Gathered<T> data_parallel_run(const dist::Communicator& comm, const Layer& L, const Inputs<T>& in, dist::Slice mine) {
  auto A1 = in.A1.view().narrow(0, mine.offset, mine.count);
  auto P = in.P.view().narrow(0, mine.offset, mine.count);
  // This rank's dO3 rows: its selection's place in the global one.
  const auto local_sel = tessel::select_important(P, L.opt);
  std::int64_t first_row = 0;
  while (first_row < static_cast<std::int64_t>(in.selected.size()) &&
         in.selected[static_cast<std::size_t>(first_row)] < mine.offset * L.s)
    ++first_row;
  auto dO3 = in.dO3.view().narrow(0, first_row, static_cast<std::int64_t>(local_sel.size()));
  auto r = dist::data_parallel_importance(comm, A1, in.W1, P, L.nh, L.opt, dO3);
  check(r.batch == mine, "the batch slice reported");
  check(r.rows.offset == first_row && r.rows.count == static_cast<std::int64_t>(local_sel.size()),
        "the O3 row slice reported");
  // The backward half alone, from the selection: the same gradients.
  const auto back = dist::data_parallel_importance_backward(comm, A1, in.W1, r.selected, L.nh, dO3);
  check(same_bits(back.grad_input, *r.grad_input) && same_bits(back.grad_weight, *r.grad_weight),
        std::string(type_name<T>()) + " data_parallel_importance_backward gives the step's gradients");
  Gathered<T> g{Tensor<T, 3>(Shape<3>{r.rows.total, L.nh, L.e}), Tensor<T, 3>(Shape<3>{L.b, L.s, L.h}),
                *r.grad_weight, {}};
  dist::gather_into(comm, r.output, 0, g.O3, dist::all_ranks);
  dist::gather_into(comm, *r.grad_input, 0, g.dA1, dist::all_ranks);
  // The selection, globally: every rank's positions shifted by its batch offset.
  std::vector<std::int64_t> shifted;
  for (auto q : r.selected) shifted.push_back(q + r.batch.offset * L.s);
  std::vector<int> n(static_cast<std::size_t>(comm.size())), displs(n.size());
  int mine_n = static_cast<int>(shifted.size());
  MPI_Allgather(&mine_n, 1, MPI_INT, n.data(), 1, MPI_INT, comm.get());
  int total = 0;
  for (std::size_t q = 0; q < n.size(); ++q) displs[q] = total, total += n[q];
  g.selected.resize(static_cast<std::size_t>(total));
  MPI_Allgatherv(shifted.data(), mine_n, MPI_INT64_T, g.selected.data(), n.data(), displs.data(), MPI_INT64_T,
                 comm.get());
  return g;
}

// The route a bfloat16 product is agreed on (as bf16_route.hpp states it) when the inputs
// of every rank pass the guard (`all_safe`) or not: rank 0's preference where every rank can
// run it and either all are safe or rank 0 forces it (TESSEL_BF16_ROUTE), else fma.
tessel::detail::Bf16Route expected_route(const dist::Communicator& world, bool all_safe) {
  using tessel::detail::Bf16Route;
  const bool choice = dist::detail::has_route_choice<bfloat16>();
  std::int64_t pref[2] = {0, 0};
  if (choice && world.rank() == 0)
    pref[0] = static_cast<std::int64_t>(tessel::detail::bf16_route()), pref[1] = tessel::detail::bf16_route_forced();
  MPI_Bcast(pref, 2, MPI_INT64_T, 0, world.get());
  const auto preferred = static_cast<Bf16Route>(pref[0]);
  std::int64_t all_run = choice && tessel::detail::bf16_route_available(preferred) ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &all_run, 1, MPI_INT64_T, MPI_MIN, world.get());
  return pref[0] != 0 && all_run && (all_safe || pref[1] != 0) ? preferred : Bf16Route::fma;
}

// The one-rank run (this process alone, the whole batch) with `route` forced for bfloat16.
template <class T>
Gathered<T> one_rank_run_on(const dist::Communicator& self, const Layer& L, const Inputs<T>& in,
                            tessel::detail::Bf16Route route) {
  struct Forced {  // restores the setting however the run ends
    int before = tessel::detail::bf16_route_setting().load();
    ~Forced() { tessel::detail::set_bf16_route(static_cast<tessel::detail::Bf16Route>(before)); }
  } forced;
  tessel::detail::set_bf16_route(route);
  return data_parallel_run<T>(self, L, in, dist::Slice{0, L.b, L.b});
}

template <class T>
void test_data_parallel(const dist::Communicator& world, const dist::Communicator& self) {
  const std::string tn = type_name<T>();
  const Layer L;
  const Inputs<T> in = make_inputs<T>(L, 11);
  const auto single = tessel::matmul_with_importance(in.A1, in.W1, in.P, L.nh, L.opt, in.dO3);

  const Gathered<T> even = data_parallel_run<T>(world, L, in, split_of(Split::even, L.b, world));
  const Gathered<T> uneven = data_parallel_run<T>(world, L, in, split_of(Split::uneven, L.b, world));
  // The same call on one rank (this process alone, the whole batch): the one-rank result.
  const Gathered<T> one = data_parallel_run<T>(self, L, in, dist::Slice{0, L.b, L.b});

  check(even.selected == single.selected, tn + " data parallel: selection equals the single-process one");
  check(same_bits(even.O3, single.output), tn + " data parallel: O3 bit-identical to matmul_with_importance");
  check(same_bits(even.dA1, *single.grad_input), tn + " data parallel: dA1 bit-identical to matmul_with_importance");
  check(same_bits(uneven.O3, single.output), tn + " data parallel, uneven split: O3 bit-identical");
  check(same_bits(uneven.dA1, *single.grad_input), tn + " data parallel, uneven split: dA1 bit-identical");
  check(same_bits(even.dW1, one.dW1), tn + " data parallel: dW1 bit-identical to the one-rank run");
  check(same_bits(uneven.dW1, one.dW1), tn + " data parallel, uneven split: dW1 bit-identical to the one-rank run");
  const Verdict v = judge(even.dW1, ref_grad_weight(dense(in.A1), L.nh, single.selected, dense(in.dO3)));
  check(v.ok(), tn + " data parallel: dW1 within the fp32-accumulation bound of fp64: " + v.first);
  const Verdict vs = judge(*single.grad_weight, ref_grad_weight(dense(in.A1), L.nh, single.selected, dense(in.dO3)));
  check(vs.ok(), tn + " the single-process dW1 within the same bound: " + vs.first);
}

// Inputs on which the bfloat16 routes give different dW1 bits (random values do not: with a
// few rows per chunk the routes' fp32 differences round away in bfloat16, and a check of
// which route dW1 took could not fail). Every batch entry selects 4 rows (top_k = 4), and
// each chunk's four products for dW1[c, j] (from A1's selected rows a(c) and dO3's rows g(j))
// are, with T = 2^12, and summed by each route in fp32 (the exact sum is 1):
//   c, j even:  T², 1, -T², 0    fma 0, amx 1    (AMX keeps more of the partial sums)
//   c, j odd:   T², 0, 1, -T²    fma 0, dpbf16 1 (vdpbf16ps adds each pair's odd product first)
// AMX's order of additions is not documented (the amx column is what it gives here); where the
// data does not tell two routes apart on some CPU, the test says so.
Layer route_layer() {
  Layer L;
  L.opt = {.top_p = 0.0, .top_k = 4};
  return L;
}
Inputs<bfloat16> route_inputs(const Layer& L, std::uint32_t seed) {
  Inputs<bfloat16> in = make_inputs<bfloat16>(L, seed);
  const float T = 4096.0f;
  const float a_even[4] = {T, 1, -T, 0}, g_even[4] = {T, 1, T, T};
  const float a_odd[4] = {T, 0, 1, -T}, g_odd[4] = {T, 1, 1, T};
  for (std::size_t r = 0; r < in.selected.size(); ++r) {
    const std::int64_t q = in.selected[r], k = static_cast<std::int64_t>(r % 4);  // the row's place in its chunk
    for (std::int64_t c = 0; c < L.h; ++c) in.A1(q / L.s, q % L.s, c) = bfloat16(c % 2 ? a_odd[k] : a_even[k]);
    for (std::int64_t n = 0; n < L.nh; ++n)
      for (std::int64_t j = 0; j < L.e; ++j)
        in.dO3(static_cast<std::int64_t>(r), n, j) = bfloat16(j % 2 ? g_odd[k] : g_even[k]);
  }
  return in;
}

// bfloat16 dW1's route, with and without a tiny value (nonzero, |x| < 2^-40) on the last rank
// holding rows, in A1 (a selected row: an input of O3 and dW1) or in dO3 (of dA1 and dW1):
//   * none: every chunk takes the agreed route (rank 0's preference where all can run it);
//   * a tiny value: every rank takes the fma route for the products it is an input of, as
//     the single-process call (whose guard sees the value) does; dW1's chunks all take it,
//     also those whose own rows hold no tiny value (their engine calls alone would take the
//     preferred route).
// Either way dW1 is the one-rank run's for any split, and that of the one-rank run with the
// expected route forced; the data tells the routes apart (checked, where there are two).
void test_bf16_route_agreement(const dist::Communicator& world, const dist::Communicator& self) {
  using tessel::detail::Bf16Route;
  const Layer L = route_layer();
  const int setting_at_start = tessel::detail::bf16_route_setting().load();
  const Bf16Route when_safe = expected_route(world, true), when_tiny = expected_route(world, false);
  for (const char* where : {"none", "A1", "dO3"}) {
    const std::string w = where;
    Inputs<bfloat16> in = route_inputs(L, 21);
    if (in.selected.size() != static_cast<std::size_t>(4 * L.b))
      throw std::logic_error("route_inputs: every batch entry must select 4 rows");
    const auto t = static_cast<std::int64_t>(in.selected.size());
    const std::int64_t q = in.selected.back();  // in the last batch entry: on the last rank
    if (w == "A1") in.A1(q / L.s, q % L.s, 3) = bfloat16(0x1p-60);
    if (w == "dO3") in.dO3(t - 1, 1, 5) = bfloat16(0x1p-60);
    const Bf16Route expected = w == "none" ? when_safe : when_tiny;
    const auto single = tessel::matmul_with_importance(in.A1, in.W1, in.P, L.nh, L.opt, in.dO3);
    const Gathered<bfloat16> g = data_parallel_run<bfloat16>(world, L, in, split_of(Split::even, L.b, world));
    const Gathered<bfloat16> u = data_parallel_run<bfloat16>(world, L, in, split_of(Split::uneven, L.b, world));
    const Gathered<bfloat16> one = data_parallel_run<bfloat16>(self, L, in, dist::Slice{0, L.b, L.b});
    const Gathered<bfloat16> on_expected = one_rank_run_on<bfloat16>(self, L, in, expected);
    const std::string what = w == "none" ? std::string("bfloat16, no tiny value: ")
                                         : "bfloat16, a tiny value in the last rank's " + w + ": ";
    check(same_bits(g.O3, single.output), what + "O3 bit-identical");
    check(same_bits(g.dA1, *single.grad_input), what + "dA1 bit-identical");
    check(same_bits(u.O3, single.output) && same_bits(u.dA1, *single.grad_input),
          what + "uneven split: O3 and dA1 bit-identical");
    check(same_bits(g.dW1, one.dW1), what + "dW1 bit-identical to the one-rank run");
    check(same_bits(u.dW1, one.dW1), what + "uneven split: dW1 bit-identical to the one-rank run");
    check(same_bits(one.dW1, on_expected.dW1),
          what + "every chunk of dW1 takes the " + tessel::detail::bf16_route_name(expected) + " route");
    const Verdict v = judge(g.dW1, ref_grad_weight(dense(in.A1), L.nh, single.selected, dense(in.dO3)));
    check(v.ok(), what + "dW1 within the fp32-accumulation bound of fp64: " + v.first);
    const Bf16Route other = expected == Bf16Route::fma ? tessel::detail::bf16_route() : Bf16Route::fma;
    if (dist::detail::has_route_choice<bfloat16>() && other != expected) {
      const Gathered<bfloat16> on_other = one_rank_run_on<bfloat16>(self, L, in, other);
      // The data was chosen so that the routes differ on the CPUs we have; AMX's order of
      // additions is not documented, so on another CPU they may agree: then the route check
      // above cannot tell them apart, which is said, not failed.
      if (same_bits(on_expected.dW1, on_other.dW1) && g_rank == 0)
        std::printf("NOTE: %sthe %s and %s routes give the same dW1 bits on this CPU: the route check cannot tell "
                    "them apart here\n",
                    what.c_str(), tessel::detail::bf16_route_name(expected), tessel::detail::bf16_route_name(other));
    }
  }
  check(tessel::detail::bf16_route_setting().load() == setting_at_start,
        "bfloat16 data-parallel steps leave the route setting as they found it");
  // The agreement itself: one unsafe rank sends every rank to fma; with every rank safe
  // the route is rank 0's preference; RouteScope pins the setting only where the rank's own
  // calls would differ, and restores it.
  const int last = world.size() - 1;
  const bool choice = dist::detail::has_route_choice<bfloat16>();
  const Bf16Route r0 = dist::detail::agree_route<bfloat16>(world, [&] { return world.rank() != last; });
  check(r0 == when_tiny, "bfloat16 route: one rank with a tiny input gives fma on every rank (unless forced)");
  const Bf16Route r1 = dist::detail::agree_route<bfloat16>(world, [] { return true; });
  check(r1 == when_safe, "bfloat16 route: with every rank safe, rank 0's preference");
  const int before = tessel::detail::bf16_route_setting().load();
  if (choice) {
    {
      auto scope = dist::detail::RouteScope::make<bfloat16>(Bf16Route::fma, true);
      check(tessel::detail::bf16_route() == Bf16Route::fma, "RouteScope pins the agreed fma route");
    }
    check(tessel::detail::bf16_route_setting().load() == before, "RouteScope restores the route setting");
    // Unsafe inputs under an automatic flushing preference: one call needs no pin (its guard
    // sends it to fma), several calls do (each guard sees only its part).
    const Bf16Route preferred = tessel::detail::bf16_route();
    if (preferred != Bf16Route::fma && !tessel::detail::bf16_route_forced()) {
      {
        auto one_call = dist::detail::RouteScope::make<bfloat16>(Bf16Route::fma, false, dist::detail::Calls::one);
        check(tessel::detail::bf16_route() == preferred, "RouteScope: one unsafe call keeps the automatic setting");
      }
      {
        auto several = dist::detail::RouteScope::make<bfloat16>(Bf16Route::fma, false, dist::detail::Calls::several);
        check(tessel::detail::bf16_route() == Bf16Route::fma, "RouteScope: several calls on unsafe inputs pin fma");
      }
      check(tessel::detail::bf16_route_setting().load() == before, "RouteScope restores the route setting (several)");
    }
  }
  // run_on_agreed_route: the agreed route is in effect on every rank while the product runs
  // (the last rank unsafe: fma, unless rank 0 forces a route), and the setting is restored
  // after, also when it throws.
  Bf16Route seen = Bf16Route::automatic;
  bool threw = false;
  try {
    dist::detail::run_on_agreed_route<bfloat16>(
        world, [&] { return world.rank() != last; },
        [&] {
          seen = tessel::detail::bf16_route();
          throw std::runtime_error("the product failed");
        },
        dist::detail::Calls::several);
  } catch (const std::runtime_error&) {
    threw = true;
  }
  check(threw, "run_on_agreed_route passes the product's exception on");
  check(!choice || seen == when_tiny, "run_on_agreed_route: the agreed route while the product runs");
  check(tessel::detail::bf16_route_setting().load() == before,
        "run_on_agreed_route restores the route setting after the product threw");
}

// Every rank of a Communicator holds rank 0's measured bfloat16 route, also a rank whose own
// measurement differed (simulated: ranks other than 0 adopt the other route, then a new
// Communicator is made). Without this, where the rates are close (or the cores busy) two
// ranks could measure differently and their single-process products differ in their bits.
void test_route_measurement_shared(const dist::Communicator& world) {
  using tessel::detail::Bf16Route;
  auto rank0_and_spread = [&] {
    const int mine = static_cast<int>(tessel::detail::measured_bf16_route());
    int v[3] = {world.rank() == 0 ? mine : 0, mine, -mine};
    MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_INT, MPI_MAX, world.get());
    return std::array<int, 3>{v[0], v[1], -v[2]};  // rank 0's, the largest, the smallest
  };
  const auto at_start = rank0_and_spread();
  check(at_start[1] == at_start[0] && at_start[2] == at_start[0],
        "every rank holds rank 0's measured bfloat16 route after the Communicator was made");
  if (!tessel::detail::dpbf16_available()) {
    if (g_rank == 0)
      std::printf("NOTE: no AVX512_BF16 here: the measured route is fma on every rank, a differing "
                  "measurement cannot be simulated\n");
    return;
  }
  const auto rank0 = static_cast<Bf16Route>(at_start[0]);
  const Bf16Route other = rank0 == Bf16Route::fma ? Bf16Route::dpbf16 : Bf16Route::fma;
  if (world.rank() != 0) tessel::detail::adopt_measured_bf16_route(other);
  const auto differing = rank0_and_spread();
  check(world.size() == 1 || differing[1] != differing[2], "the simulated measurements differ between ranks");
  {
    dist::Communicator again(MPI_COMM_WORLD);
    const auto after = rank0_and_spread();
    check(after[0] == at_start[0] && after[1] == after[0] && after[2] == after[0],
          "a new Communicator gives every rank rank 0's measured route, also ranks that measured otherwise");
  }
}

// What the backward allocates (tessel::memory_stats(), after a warm-up, one thread): this
// rank's dA1, dW1 and the T buffer dW1 is broadcast in, nothing per chunk (the partials read
// A1 and dO3 in place; the fp32 sums are std::vectors, which tessel does not count).
template <class T>
void test_backward_allocations(const dist::Communicator& world) {
  const std::string tn = type_name<T>();
  SettingsGuard settings;
  tessel::set_num_threads(1);  // the engine's per-thread packing buffers, warmed up once
  const Layer L;
  const Inputs<T> in = make_inputs<T>(L, 51);
  const dist::Slice mine = dist::even_split(L.b, world);
  auto A1 = in.A1.view().narrow(0, mine.offset, mine.count);
  auto P = in.P.view().narrow(0, mine.offset, mine.count);
  const auto sel = tessel::select_important(P, L.opt);
  std::int64_t first_row = 0;
  while (first_row < static_cast<std::int64_t>(in.selected.size()) &&
         in.selected[static_cast<std::size_t>(first_row)] < mine.offset * L.s)
    ++first_row;
  auto dO3 = in.dO3.view().narrow(0, first_row, static_cast<std::int64_t>(sel.size()));
  const auto warm = dist::data_parallel_importance_backward(world, A1, in.W1, sel, L.nh, dO3);
  tessel::reset_memory_stats();
  const auto g = dist::data_parallel_importance_backward(world, A1, in.W1, sel, L.nh, dO3);
  const auto st = tessel::memory_stats();
  const auto z = static_cast<std::int64_t>(sizeof(T));
  const std::int64_t want_allocations = (mine.count > 0 ? 1 : 0) + 2;
  const std::int64_t want_bytes = z * (mine.count * L.s * L.h + 2 * L.h * L.e);
  check(st.allocations == want_allocations && st.bytes_requested == want_bytes,
        tn + " data_parallel_importance_backward allocates dA1, dW1 and its broadcast buffer only: " +
            std::to_string(st.allocations) + " blocks of " + std::to_string(st.bytes_requested) + " bytes, want " +
            std::to_string(want_allocations) + " of " + std::to_string(want_bytes));
  check(same_bits(g.grad_weight, warm.grad_weight), tn + " the backward repeated: the same dW1");
}

template <class T>
void test_head_parallel(const dist::Communicator& world) {
  const std::string tn = type_name<T>();
  for (std::int64_t nh : {6, 3, 1}) {
    const std::int64_t b = 2, s = 5, hd = 8, h = nh * hd, e = 40;
    const auto A1 = random_tensor<T, 3>({b, s, h}, 31);
    const auto W1 = random_tensor<T, 2>({h, e}, 32);
    const auto single = tessel::matmul_with_multi_head(A1, W1, nh);
    const dist::Slice heads = dist::head_block(nh, world);
    check(heads == dist::even_split(nh, world), tn + " head_block is even_split");
    const auto O2_mine = dist::head_parallel_multi_head(world, A1, dist::weight_block(W1, nh, world), nh);
    check(O2_mine.shape() == (Shape<4>{b, s, heads.count, e}), tn + " head parallel: this rank's O2 shape");
    check(same_bits(O2_mine.data(), single.view().narrow(2, heads.offset, heads.count).contiguous().data(),
                    O2_mine.numel()),
          tn + " head parallel: this rank's heads bit-identical to matmul_with_multi_head, nh = " +
              std::to_string(nh));
    // Gathered on the last rank into a strided buffer (O2 as a permuted [nh, b, s, e] tensor).
    const int root = world.size() - 1;
    Tensor<T, 4> buffer(Shape<4>{nh, b, s, e});
    if (world.rank() == root) {
      dist::gather_into(world, O2_mine, 2, buffer.view().permute(1, 2, 0, 3), root);
      check(same_bits(buffer.view().permute(1, 2, 0, 3).contiguous().data(), single.data(), single.numel()),
            tn + " head parallel: gathered O2 bit-identical to matmul_with_multi_head, nh = " + std::to_string(nh));
    } else {
      dist::gather_into(world, O2_mine, 2, std::nullopt, root);
    }
  }
}

void test_errors(const dist::Communicator& world) {
  const Layer L;
  const Inputs<float> in = make_inputs<float>(L, 41);
  const dist::Slice mine = dist::even_split(L.b, world);
  auto A1 = in.A1.view().narrow(0, mine.offset, mine.count);
  auto P = in.P.view().narrow(0, mine.offset, mine.count);
  const int last = world.size() - 1;
  // A local error on the last rank only: P of the wrong shape.
  {
    Tensor<float, 2> badP(Shape<2>{mine.count, L.s + 1});
    check_throws(
        [&] {
          if (world.rank() == last) dist::data_parallel_importance(world, A1, in.W1, badP, L.nh, L.opt);
          else dist::data_parallel_importance(world, A1, in.W1, P, L.nh, L.opt);
        },
        "(on rank " + std::to_string(last) + " of " + std::to_string(world.size()) + ")",
        "a bad P on the last rank throws on every rank");
  }
  if (world.size() > 1) {
    // Disagreeing options.
    check_throws(
        [&] {
          auto opt = L.opt;
          if (world.rank() == last) opt.top_p = 0.5;
          dist::data_parallel_importance(world, A1, in.W1, P, L.nh, opt);
        },
        "every rank must pass the same top_p, but rank 0 has 0.25 and rank " + std::to_string(last) + " has 0.5",
        "disagreeing top_p throws on every rank");
    // A replicated weight out of sync.
    Tensor<float, 2> W1b = in.W1;
    if (world.rank() == last) W1b(0, 0) = 7.0f;
    check_throws([&] { dist::data_parallel_importance(world, A1, W1b, P, L.nh, L.opt); },
                 "the same W1 (a replicated weight", "a W1 that differs on one rank throws on every rank");
    // Head parallel: an A1 of another sequence length on one rank.
    const auto A1h = random_tensor<float, 3>({2, world.rank() == last ? 4 : 5, 32}, 43);
    const auto W1h = random_tensor<float, 2>({32, 8}, 44);
    check_throws([&] { dist::head_parallel_multi_head(world, A1h, dist::weight_block(W1h, 4, world), 4); },
                 "every rank must pass the same A1.size(1)", "head parallel: disagreeing A1 throws on every rank");
  }
  // A gather without its out on the root.
  check_throws([&] { dist::gather_into(world, A1, 0, std::nullopt, 0); }, "out is required",
               "gather without out on the root throws on every rank");
  // The communicator still works: a valid step after the errors.
  const auto r = dist::data_parallel_importance(world, A1, in.W1, P, L.nh, L.opt);
  check(r.batch == mine, "a valid call after the errors");
}

}  // namespace

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  try {
    dist::Communicator world(MPI_COMM_WORLD);
    dist::Communicator self(MPI_COMM_SELF);
    g_rank = world.rank();
    test_route_measurement_shared(world);
    test_data_parallel<float>(world, self);
    test_data_parallel<float16>(world, self);
    test_data_parallel<bfloat16>(world, self);
    test_bf16_route_agreement(world, self);
    test_backward_allocations<float>(world);
    test_backward_allocations<float16>(world);
    test_backward_allocations<bfloat16>(world);
    test_head_parallel<float>(world);
    test_head_parallel<float16>(world);
    test_head_parallel<bfloat16>(world);
    test_errors(world);
    std::int64_t counts[2] = {g_checks, g_failed};
    MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, world.get());
    if (world.rank() == 0)
      std::printf("test_distributed on %d ranks (isa %s): %lld checks, %lld failed\n", world.size(),
                  std::string(tessel::active_isa()).c_str(), static_cast<long long>(counts[0]),
                  static_cast<long long>(counts[1]));
    return counts[1] == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: unexpected exception: %s\n", g_rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  return 2;
}
