// select_important / select_important_into (SPEC §2) against tests/support/reference.hpp's
// ref_select (a full stable sort with the SPEC's ranking and its own rounding of top_p), for
// float, float16 and bfloat16: random rows with many ties, NaN and ±Inf, all-equal rows
// (ties → lower index), top_k = 1 and = s, thresholds not representable in the dtype,
// strided P, thread counts, and invalid options.
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/reference.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace tessel_test;
using tessel::ImportanceOptions;
using tessel::Tensor;
using tessel::TensorView;

namespace {

template <class T>
T val(double x) {
  return from_double<T>(x);
}

// P [b, s] with values drawn from a small set (many ties), some NaN and ±Inf.
template <class T>
Tensor<T, 2> tricky_p(std::int64_t b, std::int64_t s, std::uint32_t seed, bool specials) {
  Tensor<T, 2> P({b, s});
  std::mt19937 gen(seed);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<double> pool = {0.0, -0.0, 0.125, 0.25, 0.3, 0.5, 0.5, 0.7, 0.75, 0.9, 1.0, 1.0};
  std::uniform_int_distribution<int> pick(0, 99);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  for (std::int64_t i = 0; i < P.numel(); ++i) {
    const int r = pick(gen);
    double x;
    if (specials && r < 5) x = nan;
    else if (specials && r < 8) x = inf;
    else if (specials && r < 11) x = -inf;
    else if (r < 60) x = pool[static_cast<std::size_t>(r) % pool.size()];
    else x = uni(gen);
    P.data()[i] = val<T>(x);
  }
  return P;
}

}  // namespace

TEMPLATE_TEST_CASE("selection matches the reference on rows with ties, NaN and Inf", "[selection]", float, float16,
                   bfloat16) {
  using T = TestType;
  std::uint32_t seed = 10;
  for (auto [b, s] : std::vector<std::array<std::int64_t, 2>>{{1, 1}, {1, 7}, {3, 8}, {5, 16}, {2, 33}, {4, 200}}) {
    for (bool specials : {false, true}) {
      const auto P = tricky_p<T>(b, s, seed++, specials);
      const auto P0 = P;
      const Dense dp = dense(P);
      for (double top_p : {0.0, 0.3, 0.5, 0.7, 0.75, 1.0}) {
        for (std::int64_t k : {std::int64_t{-1}, std::int64_t{1}, std::int64_t{2}, s / 2, s - 1, s}) {
          if (k == 0 || k > s) continue;
          CAPTURE(b, s, specials, top_p, k);
          const auto got = tessel::select_important(P, opts(top_p, k));
          CHECK(got == ref_select<T>(dp, top_p, k));
        }
      }
      CHECK(same_bits(P, P0));
    }
  }
}

TEMPLATE_TEST_CASE("selection: ties go to the lower index; top_k = s is every position", "[selection]", float,
                   float16, bfloat16) {
  using T = TestType;
  const std::int64_t b = 3, s = 8;
  Tensor<T, 2> P({b, s});
  for (std::int64_t i = 0; i < P.numel(); ++i) P.data()[i] = val<T>(0.5);
  // all-equal rows: the first top_k positions of each row
  CHECK(tessel::select_important(P, opts(0.0, 3)) == std::vector<std::int64_t>{0, 1, 2, 8, 9, 10, 16, 17, 18});
  CHECK(tessel::select_important(P, opts(0.5, 1)) == std::vector<std::int64_t>{0, 8, 16});
  CHECK(tessel::select_important(P, opts(0.6, 1)).empty());
  std::vector<std::int64_t> all(static_cast<std::size_t>(b * s));
  std::iota(all.begin(), all.end(), 0);
  CHECK(tessel::select_important(P, opts(0.0, s)) == all);
  CHECK(tessel::select_important(P, opts(0.0)) == all);
  CHECK(tessel::select_important(P).empty());  // default top_p = 1.0 and every value is 0.5

  // Ties at the k-th value: the lower indices win, whatever lies between them.
  Tensor<T, 2> Q({1, 6});
  const double row[] = {0.25, 0.75, 0.5, 0.75, 0.5, 0.75};
  for (int j = 0; j < 6; ++j) Q.data()[j] = val<T>(row[j]);
  CHECK(tessel::select_important(Q, opts(0.0, 2)) == std::vector<std::int64_t>{1, 3});
  CHECK(tessel::select_important(Q, opts(0.0, 4)) == std::vector<std::int64_t>{1, 2, 3, 5});
  CHECK(tessel::select_important(Q, opts(0.0, 5)) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
}

TEMPLATE_TEST_CASE("selection: NaN ranks first but never passes; Inf and -0", "[selection]", float, float16,
                   bfloat16) {
  using T = TestType;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  Tensor<T, 2> P({2, 5});
  const double v[] = {1.0, nan, 0.75, nan, 0.5, -inf, inf, -0.0, 0.0, 0.25};
  for (int j = 0; j < 10; ++j) P.data()[j] = val<T>(v[j]);
  // top_k = 2: row 0 ranks the two NaNs first (neither passes), row 1 ranks +Inf then +/-0 (index 7 first).
  CHECK(tessel::select_important(P, opts(0.0, 2)) == std::vector<std::int64_t>{6, 9});
  // -0.0 == 0.0: ties broken by index (7 before 8), and -0.0 >= 0.0 passes.
  CHECK(tessel::select_important(P, opts(0.0, 3)) == std::vector<std::int64_t>{0, 6, 7, 9});
  CHECK(tessel::select_important(P, opts(0.0, 4)) == std::vector<std::int64_t>{0, 2, 6, 7, 8, 9});
  CHECK(tessel::select_important(P, opts(0.0)) == std::vector<std::int64_t>{0, 2, 4, 6, 7, 8, 9});
  // +Inf passes top_p = 1, -Inf passes nothing.
  CHECK(tessel::select_important(P, opts(1.0)) == std::vector<std::int64_t>{0, 6});
  // A row of NaNs selects nothing.
  Tensor<T, 2> N({1, 4});
  for (int j = 0; j < 4; ++j) N.data()[j] = val<T>(nan);
  CHECK(tessel::select_important(N, opts(0.0, 1)).empty());
  CHECK(tessel::select_important(N, opts(0.0)).empty());
}

TEMPLATE_TEST_CASE("selection: top_p is rounded to T before comparing", "[selection]", float, float16, bfloat16) {
  using T = TestType;
  for (double top_p : {0.7, 0.1, 0.301, 0.333333, 0.9999, 1e-3}) {
    CAPTURE(top_p);
    const T rounded = val<T>(top_p);  // T(top_p): one rounding of the double
    CHECK(to_double(rounded) == round_to_grid<T>(top_p));
    // P at the rounded value, and one step of T's grid either side.
    const double x = to_double(rounded);
    const double below = x - ulp_of<T>(x) / (x == std::ldexp(1.0, std::ilogb(x)) ? 2.0 : 1.0);
    const double above = x + ulp_of<T>(x);
    Tensor<T, 2> P({1, 3});
    P.data()[0] = val<T>(below);
    P.data()[1] = val<T>(x);
    P.data()[2] = val<T>(above);
    REQUIRE(to_double(P.data()[0]) < x);
    REQUIRE(to_double(P.data()[2]) > x);
    CHECK(tessel::select_important(P, opts(top_p)) == std::vector<std::int64_t>{1, 2});
  }
  // The SPEC's example: bfloat16(0.7) == 0.69921875 passes top_p = 0.7.
  if constexpr (std::is_same_v<T, bfloat16>) {
    Tensor<T, 2> P({1, 2});
    P.data()[0] = val<T>(0.69921875);
    P.data()[1] = val<T>(0.6953125);  // one bfloat16 step below
    CHECK(to_double(P.data()[0]) == 0.69921875);
    CHECK(tessel::select_important(P, opts(0.7)) == std::vector<std::int64_t>{0});
  }
}

TEST_CASE("selection: top_p goes to bfloat16 through float, as PyTorch casts it", "[selection]") {
  // top_p = 0.5 + 2^-9 + 2^-40 lies just above the midpoint between the bfloat16 values 0.5
  // and 0.5 + 2^-8. PyTorch converts the Python float to float first (0.5 + 2^-9 exactly, a
  // tie), then to bfloat16 (ties to even: 0.5), so P = 0.5 passes. A direct double ->
  // bfloat16 rounding would give 0.50390625 and reject it.
  const double top_p = 0.5 + std::ldexp(1.0, -9) + std::ldexp(1.0, -40);
  REQUIRE(static_cast<double>(static_cast<float>(top_p)) == 0.5 + std::ldexp(1.0, -9));
  REQUIRE(to_double(bfloat16(top_p)) == 0.50390625);  // the direct rounding differs
  Tensor<bfloat16, 2> P({1, 2});
  P.data()[0] = val<bfloat16>(0.5);
  P.data()[1] = val<bfloat16>(0.49609375);  // one bfloat16 step below 0.5
  CHECK(tessel::select_important(P, opts(top_p)) == std::vector<std::int64_t>{0});
  CHECK(ref_select<bfloat16>(dense(P), top_p, -1) == std::vector<std::int64_t>{0});
}

TEMPLATE_TEST_CASE("selection: strided P, select_important_into, threads", "[selection][threads]", float, float16,
                   bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  // b·s = 32768 positions: enough for the selection to use more than one thread.
  const std::int64_t b = 64, s = 512;
  const auto Psb = tricky_p<T>(s, b, 77, true);
  const auto P = Psb.view().transpose(0, 1);  // [b, s], strides [1, b]
  const Dense dp = dense(P);
  for (auto [top_p, k] : std::vector<std::pair<double, std::int64_t>>{{0.0, 37}, {0.5, -1}, {0.3, 200}, {1.0, 1}}) {
    CAPTURE(top_p, k);
    const auto want = ref_select<T>(dp, top_p, k);
    tessel::set_num_threads(1);
    const auto one = tessel::select_important(P, opts(top_p, k));
    tessel::set_num_threads(2);
    const auto two = tessel::select_important(P, opts(top_p, k));
    CHECK(one == want);
    CHECK(two == want);
    CHECK(tessel::select_important(P.clone(), opts(top_p, k)) == want);
    // _into reuses the vector's capacity.
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(b * s));
    const auto* before = out.data();
    tessel::select_important_into<T>(P, opts(top_p, k), out);
    CHECK(out == want);
    CHECK(out.data() == before);
  }
  CHECK(same_bits(Psb, tricky_p<T>(s, b, 77, true)));
}

TEMPLATE_TEST_CASE("selection: invalid options throw shape_error", "[selection][errors]", float, float16, bfloat16) {
  using T = TestType;
  const auto P = tricky_p<T>(2, 5, 3, false);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double top_p : {-0.001, 1.001, -1.0, 2.0, nan, inf, -inf}) {
    CAPTURE(top_p);
    const auto msg = error_of([&] { (void)tessel::select_important(P, opts(top_p)); });
    CHECK_THAT(msg, Catch::Contains("select_important") && Catch::Contains("top_p"));
  }
  for (std::int64_t k : {0, -1, 6, 100}) {
    CAPTURE(k);
    ImportanceOptions o;
    o.top_k = k;
    const auto msg = error_of([&] { (void)tessel::select_important(P, o); });
    CHECK_THAT(msg, Catch::Contains("select_important") && Catch::Contains("top_k") && Catch::Contains("5"));
    std::vector<std::int64_t> out{42, 43};
    (void)error_of([&] { tessel::select_important_into<T>(P, o, out); });
    CHECK(out == std::vector<std::int64_t>{42, 43});  // untouched
  }
  // Boundaries are valid.
  CHECK_NOTHROW(tessel::select_important(P, opts(0.0, 1)));
  CHECK_NOTHROW(tessel::select_important(P, opts(1.0, 5)));
}

TEST_CASE("selection: select_important_into deduces T from Tensors and non-const views", "[selection]") {
  Tensor<bfloat16, 2> P({2, 4});
  for (int i = 0; i < 8; ++i) P.data()[i] = val<bfloat16>(0.125 * i);
  std::vector<std::int64_t> selected;
  tessel::select_important_into(P.view(), opts(0.0, 2), selected);  // TensorView<bfloat16, 2>
  CHECK(selected == std::vector<std::int64_t>{2, 3, 6, 7});
  tessel::select_important_into(P, opts(0.5), selected);  // Tensor
  CHECK(selected == ref_select<bfloat16>(dense(P), 0.5, -1));
}
