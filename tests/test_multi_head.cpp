// matmul_with_multi_head / matmul_with_multi_head_into (SPEC §1) against the fp64 reference
// of tests/support/reference.hpp, for float, float16 and bfloat16: random shapes, nh = 1 and
// nh = h, b = 1 and s = 1; strided inputs (A1 permuted from [s,b,h], W1 transposed, sliced
// and expanded views) and strided outputs give the same bits as contiguous copies; inputs
// are unchanged; errors; thread counts, a caller's OpenMP region and every ISA path.
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/paths.hpp"
#include "support/reference.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <cstdint>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace tessel_test;
using tessel::Tensor;
using tessel::TensorView;

namespace {

struct Shape5 {
  std::int64_t b, s, h, nh, e;
};

}  // namespace

TEMPLATE_TEST_CASE("multi-head matmul against the fp64 reference", "[multi_head]", float, float16, bfloat16) {
  using T = TestType;
  const std::vector<Shape5> shapes = {
      {2, 5, 16, 4, 8},  {1, 1, 8, 2, 3},   {1, 7, 12, 3, 5},  {3, 1, 10, 5, 4},  {2, 3, 6, 1, 7},
      {2, 4, 9, 9, 6},   {1, 6, 1, 1, 1},   {3, 11, 40, 8, 33}, {2, 9, 64, 2, 17}, {1, 33, 96, 12, 40},
      {2, 17, 30, 30, 2}, {1, 2, 128, 1, 64}};
  std::uint32_t seed = 1000;
  for (const auto& c : shapes) {
    CAPTURE(c.b, c.s, c.h, c.nh, c.e);
    const auto A1 = random_tensor<T, 3>({c.b, c.s, c.h}, seed++);
    const auto W1 = random_tensor<T, 2>({c.h, c.e}, seed++);
    const auto A10 = A1; const auto W10 = W1;
    const auto O2 = tessel::matmul_with_multi_head(A1, W1, c.nh);
    REQUIRE(O2.shape() == (tessel::Shape<4>{c.b, c.s, c.nh, c.e}));
    CHECK_VERDICT(judge(O2, ref_multi_head(dense(A1), dense(W1), c.nh)));
    CHECK(same_bits(A1, A10));
    CHECK(same_bits(W1, W10));
    // The _into form writes the same bits.
    Tensor<T, 4> O2i({c.b, c.s, c.nh, c.e});
    fill(O2i, sentinel<T>());
    tessel::matmul_with_multi_head_into(A1, W1, c.nh, O2i);
    CHECK(same_bits(O2i, O2));
  }
}

TEMPLATE_TEST_CASE("multi-head matmul: strided inputs and outputs give the same bits", "[multi_head]", float,
                   float16, bfloat16) {
  using T = TestType;
  const tessel_test::TestPath path = GENERATE(from_range(tessel_test::test_paths<T>()));
  tessel_test::PathScope use(path);
  CAPTURE(path.name);
  const std::int64_t b = 3, s = 7, h = 24, nh = 4, e = 10;
  const auto A_sbh = random_tensor<T, 3>({s, b, h}, 2001);
  const auto W_eh = random_tensor<T, 2>({e, h}, 2002);
  const auto A1 = A_sbh.view().permute(1, 0, 2);  // [b, s, h] with strides [h, b*h, 1]
  const auto W1 = W_eh.view().transpose(0, 1);    // [h, e] with strides [1, h]
  const auto A1c = A1.clone();
  const auto W1c = W1.clone();
  const auto expect = tessel::matmul_with_multi_head(A1c, W1c, nh);
  CHECK_VERDICT(judge(expect, ref_multi_head(dense(A1), dense(W1), nh)));

  CHECK(same_bits(tessel::matmul_with_multi_head(A1, W1, nh), expect));
  CHECK(same_bits(tessel::matmul_with_multi_head(A1, W1c, nh), expect));
  CHECK(same_bits(tessel::matmul_with_multi_head(A1c, W1, nh), expect));
  // Inputs unchanged.
  CHECK(same_bits(A_sbh, random_tensor<T, 3>({s, b, h}, 2001)));
  CHECK(same_bits(W_eh, random_tensor<T, 2>({e, h}, 2002)));

  SECTION("sliced views") {
    // A1 a window of a wider [b, s+3, h+8] tensor, W1 rows of every other row of a [2h, e+5].
    const auto Abig = random_tensor<T, 3>({b, s + 3, h + 8}, 2003);
    const auto As = Abig.view().narrow(1, 2, s).narrow(2, 5, h);
    const auto Wbig = random_tensor<T, 2>({2 * h, e + 5}, 2004);
    const auto Ws = Wbig.view().view(h, 2, e + 5).select(1, 1).narrow(1, 1, e);
    const auto want = tessel::matmul_with_multi_head(As.clone(), Ws.clone(), nh);
    CHECK(same_bits(tessel::matmul_with_multi_head(As, Ws, nh), want));
    CHECK_VERDICT(judge(want, ref_multi_head(dense(As), dense(Ws), nh)));
  }
  SECTION("expanded views (stride-0 batch and sequence)") {
    const auto row = random_tensor<T, 2>({1, h}, 2005);
    const auto Ae = row.view().unsqueeze(0).expand(b, s, h);  // strides [0, 0, 1]
    const auto want = tessel::matmul_with_multi_head(Ae.clone(), W1c, nh);
    CHECK(same_bits(tessel::matmul_with_multi_head(Ae, W1, nh), want));
    CHECK_VERDICT(judge(want, ref_multi_head(dense(Ae), dense(W1c), nh)));
    const auto seq = random_tensor<T, 3>({1, s, h}, 2006);
    const auto Ab = seq.view().expand(b, s, h);  // batch stride 0
    CHECK(same_bits(tessel::matmul_with_multi_head(Ab, W1c, nh), tessel::matmul_with_multi_head(Ab.clone(), W1c, nh)));
    const auto col = random_tensor<T, 2>({h, 1}, 2007);
    const auto We = col.view().expand(h, e);  // every column the same
    CHECK(same_bits(tessel::matmul_with_multi_head(A1c, We, nh), tessel::matmul_with_multi_head(A1c, We.clone(), nh)));
  }
  SECTION("_into a permuted [b, nh, s, e] buffer") {
    Tensor<T, 4> buf({b, nh, s, e});
    fill(buf, sentinel<T>());
    tessel::matmul_with_multi_head_into(A1, W1, nh, buf.view().permute(0, 2, 1, 3));
    CHECK(same_bits(buf.view().permute(0, 2, 1, 3).clone(), expect));
  }
  SECTION("_into a slice of a larger buffer leaves the rest untouched") {
    Tensor<T, 4> big({b + 1, s, nh, e + 3});
    fill(big, sentinel<T>());
    const auto O2 = big.view().narrow(0, 1, b).narrow(3, 2, e);
    tessel::matmul_with_multi_head_into(A1, W1, nh, O2);
    CHECK(same_bits(O2.clone(), expect));
    // Zero out the written window in a copy: everything else must still be the sentinel.
    Tensor<T, 4> rest = big;
    const auto window = rest.view().narrow(0, 1, b).narrow(3, 2, e);
    Tensor<T, 4> fillwin({b, s, nh, e});
    fill(fillwin, sentinel<T>());
    window.copy_(fillwin.view());
    CHECK(all_equal_to(rest, sentinel<T>()));
  }
}

TEMPLATE_TEST_CASE("multi-head matmul: invalid arguments throw shape_error before writing", "[multi_head][errors]",
                   float, float16, bfloat16) {
  using T = TestType;
  const std::int64_t b = 2, s = 5, h = 12, e = 7;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 3001);
  const auto W1 = random_tensor<T, 2>({h, e}, 3002);
  const auto A10 = A1; const auto W10 = W1;
  Tensor<T, 4> O2({b, s, 4, e});
  fill(O2, sentinel<T>());

  // h % nh != 0
  auto msg = error_of([&] { (void)tessel::matmul_with_multi_head(A1, W1, 5); });
  CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head") && Catch::Contains("[2, 5, 12]") && Catch::Contains("5"));
  msg = error_of([&] { tessel::matmul_with_multi_head_into(A1, W1, 5, O2); });
  CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head_into") && Catch::Contains("[2, 5, 12]"));
  // nh < 1
  for (std::int64_t nh : {0, -1, -12}) {
    CAPTURE(nh);
    msg = error_of([&] { (void)tessel::matmul_with_multi_head(A1, W1, nh); });
    CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head") && Catch::Contains("num_heads"));
    msg = error_of([&] { tessel::matmul_with_multi_head_into(A1, W1, nh, O2); });
    CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head_into"));
  }
  // W1 of the wrong height
  const auto Wbad = random_tensor<T, 2>({h + 4, e}, 3003);
  msg = error_of([&] { (void)tessel::matmul_with_multi_head(A1, Wbad, 4); });
  CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head") && Catch::Contains("[16, 7]") &&
                      Catch::Contains("[2, 5, 12]"));
  msg = error_of([&] { tessel::matmul_with_multi_head_into(A1, Wbad, 4, O2); });
  CHECK_THAT(msg, Catch::Contains("[16, 7]"));
  // O2 of the wrong shape (each dimension in turn)
  for (auto shape : std::vector<tessel::Shape<4>>{{b + 1, s, 4, e}, {b, s - 1, 4, e}, {b, s, 3, e}, {b, s, 4, e + 1}}) {
    Tensor<T, 4> bad(shape);
    fill(bad, sentinel<T>());
    msg = error_of([&] { tessel::matmul_with_multi_head_into(A1, W1, 4, bad); });
    CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head_into") && Catch::Contains("O2") &&
                        Catch::Contains(tessel::detail::shape_string(shape)));
    CHECK(all_equal_to(bad, sentinel<T>()));
  }
  // O2 overlapping A1 or W1
  {
    Tensor<T, 1> store({b * s * h + b * s * 4 * e});
    auto A = TensorView<T, 3>(store.data(), {b, s, h});
    A.copy_(A1.view());
    const Tensor<T, 1> store0 = store;
    auto O = TensorView<T, 4>(store.data() + b * s * h - 1, {b, s, 4, e});  // shares one element
    msg = error_of([&] { tessel::matmul_with_multi_head_into(A, W1, 4, O); });
    CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head_into") && Catch::Contains("overlap") &&
                        Catch::Contains("A1"));
    CHECK(same_bits(store, store0));
  }
  {
    Tensor<T, 1> store({h * e + b * s * 4 * e});
    auto W = TensorView<T, 2>(store.data() + b * s * 4 * e - 3, {h, e});
    W.copy_(W1.view());
    const Tensor<T, 1> store0 = store;
    auto O = TensorView<T, 4>(store.data(), {b, s, 4, e});
    msg = error_of([&] { tessel::matmul_with_multi_head_into(A1, W, 4, O); });
    CHECK_THAT(msg, Catch::Contains("overlap") && Catch::Contains("W1"));
    CHECK(same_bits(store, store0));
  }
  // An expanded (self-overlapping) O2
  {
    Tensor<T, 4> one({b, s, 4, 1});
    fill(one, sentinel<T>());
    msg = error_of([&] { tessel::matmul_with_multi_head_into(A1, W1, 4, one.view().expand(b, s, 4, e)); });
    CHECK_THAT(msg, Catch::Contains("matmul_with_multi_head_into") && Catch::Contains("O2"));
    CHECK(all_equal_to(one, sentinel<T>()));
  }
  CHECK(all_equal_to(O2, sentinel<T>()));
  CHECK(same_bits(A1, A10));
  CHECK(same_bits(W1, W10));
}

TEMPLATE_TEST_CASE("multi-head matmul: 1 and 2 threads, and inside a caller's parallel region, give the same bits",
                   "[multi_head][threads]", float, float16, bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  // 2·b·s·h·e = 2·2·96·256·192 ≈ 18.9 MFLOP: above the engine's threading threshold.
  const std::int64_t b = 2, s = 96, h = 256, nh = 8, e = 192;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 4001);
  const auto W1 = random_tensor<T, 2>({h, e}, 4002);
  tessel::set_num_threads(1);
  const auto one = tessel::matmul_with_multi_head(A1, W1, nh);
  tessel::set_num_threads(2);
  CHECK(tessel::get_num_threads() == 2);
  const auto two = tessel::matmul_with_multi_head(A1, W1, nh);
  CHECK(same_bits(one, two));
  Tensor<T, 4> into({b, s, nh, e});
  tessel::matmul_with_multi_head_into(A1, W1, nh, into);
  CHECK(same_bits(one, into));

  // Inside a caller's parallel region: every thread's call works and gives the same bits.
  constexpr int kCallers = 2;
  std::vector<Tensor<T, 4>> results(kCallers);
  std::vector<std::string> errors(kCallers);
#if defined(_OPENMP)
#pragma omp parallel num_threads(kCallers)
  {
    const int id = omp_get_thread_num();
#else
  for (int id = 0; id < kCallers; ++id) {
#endif
    try {
      results[static_cast<std::size_t>(id)] = tessel::matmul_with_multi_head(A1, W1, nh);
    } catch (const std::exception& ex) {
      errors[static_cast<std::size_t>(id)] = ex.what();
    }
  }
  for (int id = 0; id < kCallers; ++id) {
    CAPTURE(id);
    CHECK(errors[static_cast<std::size_t>(id)].empty());
    CHECK(same_bits(results[static_cast<std::size_t>(id)], one));
  }
}

TEMPLATE_TEST_CASE("multi-head matmul on every registered path", "[multi_head][isa]", float, float16, bfloat16) {
  using T = TestType;
  const std::int64_t b = 2, s = 13, h = 48, nh = 3, e = 37;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 5001);
  const auto W1 = random_tensor<T, 2>({h, e}, 5002);
  const Ref ref = ref_multi_head(dense(A1), dense(W1), nh);
  for (const tessel_test::TestPath& path : tessel_test::test_paths<T>()) {
    tessel_test::PathScope use(path);
    CAPTURE(path.name);
    REQUIRE(tessel::current_isa() == path.isa);
    CHECK(tessel::active_isa() == tessel::isa_name(path.isa));
    CHECK_VERDICT(judge(tessel::matmul_with_multi_head(A1, W1, nh), ref));
    const auto W_eh = W1.view().transpose(0, 1).clone();
    CHECK_VERDICT(judge(tessel::matmul_with_multi_head(A1, W_eh.view().transpose(0, 1), nh), ref));
  }
}

TEST_CASE("multi-head matmul deduces T from Tensors, non-const views and reshape()/contiguous() results",
          "[multi_head]") {
  using T = bfloat16;
  Tensor<T, 3> A1 = random_tensor<T, 3>({2, 3, 8}, 6001);
  Tensor<T, 2> W1 = random_tensor<T, 2>({8, 5}, 6002);
  const auto expect = tessel::matmul_with_multi_head(A1, W1, 2);
  TensorView<T, 3> av = A1.view();
  TensorView<T, 2> wv = W1.view();
  CHECK(same_bits(tessel::matmul_with_multi_head(av, wv, 2), expect));
  auto flat = A1.view().reshape(6, 8);             // a view
  auto back = flat.reshape(2, 3, 8);               // still a view
  auto wc = W1.view().transpose(0, 1).contiguous();  // an owned copy [5, 8]
  CHECK(same_bits(tessel::matmul_with_multi_head(back, wc.transpose(0, 1), 2), expect));
  CHECK(same_bits(tessel::matmul_with_multi_head(A1.view().contiguous(), W1, 2), expect));
  Tensor<T, 4> O2({2, 3, 2, 5});
  tessel::matmul_with_multi_head_into(av, W1, 2, O2);
  CHECK(same_bits(O2, expect));
  TensorView<T, 4> ov = O2.view();
  tessel::matmul_with_multi_head_into(back, wv, 2, ov);
  CHECK(same_bits(O2, expect));
}

TEMPLATE_TEST_CASE("multi-head matmul: long reductions, empty dimensions, h = 0", "[multi_head]", float, float16,
                   bfloat16) {
  using T = TestType;
  // hd = 1200 and 700: more than one kc block of the reduction.
  for (const auto& c : std::vector<Shape5>{{1, 8, 1200, 1, 24}, {2, 3, 1400, 2, 9}}) {
    CAPTURE(c.b, c.s, c.h, c.nh, c.e);
    const auto A1 = random_tensor<T, 3>({c.b, c.s, c.h}, 7001);
    const auto W1 = random_tensor<T, 2>({c.h, c.e}, 7002);
    CHECK_VERDICT(judge(tessel::matmul_with_multi_head(A1, W1, c.nh), ref_multi_head(dense(A1), dense(W1), c.nh)));
  }
  // b = 0, s = 0, e = 0: empty outputs of the right shape.
  for (const auto& c : std::vector<Shape5>{{0, 4, 8, 2, 3}, {2, 0, 8, 2, 3}, {2, 4, 8, 2, 0}}) {
    CAPTURE(c.b, c.s, c.h, c.nh, c.e);
    const auto A1 = random_tensor<T, 3>({c.b, c.s, c.h}, 7003);
    const auto W1 = random_tensor<T, 2>({c.h, c.e}, 7004);
    const auto O2 = tessel::matmul_with_multi_head(A1, W1, c.nh);
    CHECK(O2.shape() == (tessel::Shape<4>{c.b, c.s, c.nh, c.e}));
    CHECK(O2.numel() == 0);
  }
  // h = 0 (hd = 0): nothing to sum, every output exactly zero.
  Tensor<T, 3> A0({2, 3, 0});
  Tensor<T, 2> W0({0, 4});
  Tensor<T, 4> O2({2, 3, 2, 4});
  fill(O2, sentinel<T>());
  tessel::matmul_with_multi_head_into(A0, W0, 2, O2);
  CHECK(all_equal_to(O2, T{}));
  CHECK(all_equal_to(tessel::matmul_with_multi_head(A0, W0, 2), T{}));
}

TEMPLATE_TEST_CASE("multi-head matmul: NaN stays NaN, Inf propagates, float16 overflow gives Inf", "[multi_head]",
                   float, float16, bfloat16) {
  using T = TestType;
  const std::int64_t b = 2, s = 3, h = 8, nh = 4, e = 5;  // hd = 2
  auto A1 = random_tensor<T, 3>({b, s, h}, 7101);
  const auto W1 = random_tensor<T, 2>({h, e}, 7102, 0.5, 1.0);  // no zeros
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  A1(0, 1, 3) = from_double<T>(nan);  // head 1 of row (0, 1)
  A1(1, 2, 6) = from_double<T>(inf);  // head 3 of row (1, 2): +Inf times positive weights
  const auto O2 = tessel::matmul_with_multi_head(A1, W1, nh);
  const Ref ref = ref_multi_head(dense(A1), dense(W1), nh);
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t c = 0; c < e; ++c) {
          CAPTURE(i, j, n, c);
          const double x = to_double(O2(i, j, n, c));
          if (i == 0 && j == 1 && n == 1) CHECK(std::isnan(x));
          else if (i == 1 && j == 2 && n == 3) CHECK(x == inf);
          else {
            const double r = ref.val[static_cast<std::size_t>(((i * s + j) * nh + n) * e + c)];
            const double m = ref.mag[static_cast<std::size_t>(((i * s + j) * nh + n) * e + c)];
            CHECK(std::fabs(x - r) <= ulp_of<T>(r) + 2.0 * std::sqrt(2.0) * std::ldexp(m, -24));
          }
        }
  // 2 · 240 · 240 = 115200: beyond float16's range (65504), within bfloat16's and float's.
  Tensor<T, 3> big({1, 1, 2});
  big(0, 0, 0) = big(0, 0, 1) = from_double<T>(240.0);
  Tensor<T, 2> w({2, 2});
  w(0, 0) = w(1, 0) = from_double<T>(240.0);
  w(0, 1) = w(1, 1) = from_double<T>(-240.0);
  const auto o = tessel::matmul_with_multi_head(big, w, 1);
  if constexpr (std::is_same_v<T, float16>) {
    CHECK(to_double(o(0, 0, 0, 0)) == inf);
    CHECK(to_double(o(0, 0, 0, 1)) == -inf);
  } else {
    CHECK(to_double(o(0, 0, 0, 0)) == round_to_grid<T>(115200.0));
    CHECK(to_double(o(0, 0, 0, 1)) == -round_to_grid<T>(115200.0));
  }
}
