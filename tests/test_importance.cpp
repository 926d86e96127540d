// matmul_with_importance / matmul_with_importance_into (SPEC §2–3) against the fp64 reference
// of tests/support/reference.hpp, for float, float16 and bfloat16: random shapes and options,
// NaN and ±Inf in P, top_k = 1 and = s, t = 0, b = 1 and s = 1, nh = 1 and nh = h, with and
// without grad_output; strided inputs (A1 permuted from [s,b,h], W1 transposed, P transposed,
// dO3 permuted, sliced and expanded views) give the same bits as contiguous copies; inputs
// are unchanged; the _into form with a known selection and optional gradient outputs;
// errors (nothing written); thread counts, a caller's OpenMP region, every ISA path.
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/paths.hpp"
#include "support/reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace tessel_test;
using tessel::ImportanceOptions;
using tessel::Tensor;
using tessel::TensorView;

namespace {

struct Case {
  std::int64_t b, s, h, nh, e;
  double top_p;
  std::int64_t top_k;  // -1: none
  bool specials;       // NaN and ±Inf in P
};

// P [b, s]: uniform in [0, 1), with NaN/±Inf sprinkled in when asked.
template <class T>
Tensor<T, 2> make_p(std::int64_t b, std::int64_t s, std::uint32_t seed, bool specials) {
  auto P = random_tensor<T, 2>({b, s}, seed, 0.0, 1.0);
  if (specials) {
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    const double sp[] = {nan, inf, -inf, nan};
    for (std::int64_t q = 0; q < P.numel(); q += 3) P.data()[q] = from_double<T>(sp[(q / 3) % 4]);
  }
  return P;
}

// Runs one case through the allocating call and judges everything against the reference.
template <class T>
void check_case(const Case& c, std::uint32_t seed, bool with_grad) {
  CAPTURE(c.b, c.s, c.h, c.nh, c.e, c.top_p, c.top_k, c.specials, with_grad);
  const auto A1 = random_tensor<T, 3>({c.b, c.s, c.h}, seed);
  const auto W1 = random_tensor<T, 2>({c.h, c.e}, seed + 1);
  const auto P = make_p<T>(c.b, c.s, seed + 2, c.specials);
  const Dense dA = dense(A1), dW = dense(W1);
  const auto sel = ref_select<T>(dense(P), c.top_p, c.top_k);
  const auto t = static_cast<std::int64_t>(sel.size());
  const auto dO3 = random_tensor<T, 3>({t, c.nh, c.e}, seed + 3);
  const auto A10 = A1; const auto W10 = W1; const auto P0 = P; const auto dO30 = dO3;

  auto res = with_grad ? tessel::matmul_with_importance(A1, W1, P, c.nh, opts(c.top_p, c.top_k), dO3)
                       : tessel::matmul_with_importance(A1, W1, P, c.nh, opts(c.top_p, c.top_k));
  CHECK(res.selected == sel);
  REQUIRE(res.output.shape() == (tessel::Shape<3>{t, c.nh, c.e}));
  CHECK_VERDICT(judge(res.output, ref_importance_forward(dA, dW, c.nh, sel)));
  CHECK(res.selected == tessel::select_important(P, opts(c.top_p, c.top_k)));
  if (with_grad) {
    REQUIRE(res.grad_input.has_value());
    REQUIRE(res.grad_weight.has_value());
    CHECK(res.grad_input->shape() == A1.shape());
    CHECK(res.grad_weight->shape() == W1.shape());
    const Dense dG = dense(dO3);
    // Unselected rows of dA1 and (t = 0) all of dW1 must be exact zeros: judge() demands it.
    CHECK_VERDICT(judge(*res.grad_input, ref_grad_input(dW, c.nh, sel, dG, c.b, c.s)));
    CHECK_VERDICT(judge(*res.grad_weight, ref_grad_weight(dA, c.nh, sel, dG)));
  } else {
    CHECK_FALSE(res.grad_input.has_value());
    CHECK_FALSE(res.grad_weight.has_value());
  }
  CHECK(same_bits(A1, A10));
  CHECK(same_bits(W1, W10));
  CHECK(same_bits(P, P0));
  CHECK(same_bits(dO3, dO30));
}

}  // namespace

TEMPLATE_TEST_CASE("importance matmul against the fp64 reference", "[importance]", float, float16, bfloat16) {
  using T = TestType;
  const std::vector<Case> cases = {
      {2, 8, 16, 4, 8, 0.0, 3, false},      // the tiny conformance shape
      {2, 8, 16, 4, 8, 0.5, -1, false},     // threshold only
      {3, 10, 16, 2, 12, 0.0, 1, false},    // top_k = 1
      {2, 9, 12, 3, 7, 0.0, 9, false},      // top_k = s
      {2, 9, 12, 3, 7, 0.3, 9, true},       // top_k = s with NaN/Inf
      {3, 16, 24, 6, 9, 0.0, 5, true},      // NaN/Inf in P, top_k
      {3, 16, 24, 6, 9, 0.25, -1, true},    // NaN/Inf in P, threshold
      {2, 8, 16, 4, 8, 1.0, -1, false},     // t = 0 (uniform [0,1) never reaches 1)
      {2, 8, 16, 4, 8, 1.0, 2, true},       // only +Inf passes top_p = 1
      {1, 12, 24, 3, 10, 0.0, 4, false},    // b = 1
      {4, 1, 8, 2, 5, 0.0, 1, false},       // s = 1
      {1, 1, 8, 2, 5, 0.0, -1, false},      // b = s = 1
      {2, 6, 12, 1, 5, 0.0, 2, false},      // nh = 1
      {2, 5, 8, 8, 3, 0.0, -1, false},      // nh = h (hd = 1)
      {3, 7, 15, 5, 9, 0.0, 4, false},      // odd sizes
      {2, 33, 64, 4, 40, 0.4, 20, false},   // larger
      {1, 16, 256, 2, 32, 0.0, 8, false},   // long reduction
  };
  std::uint32_t seed = 100;
  for (const auto& c : cases) {
    check_case<T>(c, seed, false);
    check_case<T>(c, seed, true);
    seed += 10;
  }
}

TEMPLATE_TEST_CASE("importance matmul: t = 0 gives [0, nh, e], zero dA1 and zero dW1", "[importance]", float, float16,
                   bfloat16) {
  using T = TestType;
  const std::int64_t b = 2, s = 5, h = 12, nh = 3, e = 4;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 301);
  const auto W1 = random_tensor<T, 2>({h, e}, 302);
  Tensor<T, 2> P({b, s});
  fill(P, from_double<T>(0.25));
  Tensor<T, 3> dO3({0, nh, e});
  auto res = tessel::matmul_with_importance(A1, W1, P, nh, opts(0.5), dO3);
  CHECK(res.selected.empty());
  CHECK(res.output.shape() == (tessel::Shape<3>{0, nh, e}));
  REQUIRE(res.grad_input);
  REQUIRE(res.grad_weight);
  for (std::int64_t i = 0; i < res.grad_input->numel(); ++i) CHECK(to_double(res.grad_input->data()[i]) == 0.0);
  for (std::int64_t i = 0; i < res.grad_weight->numel(); ++i) CHECK(to_double(res.grad_weight->data()[i]) == 0.0);
  // Without grad_output: no gradients.
  auto fwd = tessel::matmul_with_importance(A1, W1, P, nh, opts(0.5, 2));
  CHECK(fwd.output.shape() == (tessel::Shape<3>{0, nh, e}));
  CHECK_FALSE(fwd.grad_input);
  CHECK_FALSE(fwd.grad_weight);
}

TEMPLATE_TEST_CASE("importance matmul: strided inputs give the same bits as contiguous copies", "[importance]", float,
                   float16, bfloat16) {
  using T = TestType;
  const tessel_test::TestPath path = GENERATE(from_range(tessel_test::test_paths<T>()));
  tessel_test::PathScope use(path);
  CAPTURE(path.name);
  const std::int64_t b = 3, s = 9, h = 20, nh = 4, e = 11;
  const auto A_sbh = random_tensor<T, 3>({s, b, h}, 401);
  const auto W_eh = random_tensor<T, 2>({e, h}, 402);
  const auto P_sb = make_p<T>(s, b, 403, true);
  const auto A1 = A_sbh.view().permute(1, 0, 2);
  const auto W1 = W_eh.view().transpose(0, 1);
  const auto P = P_sb.view().transpose(0, 1);
  const auto o = opts(0.2, 6);
  const auto sel = ref_select<T>(dense(P), 0.2, 6);
  const auto t = static_cast<std::int64_t>(sel.size());
  REQUIRE(t > 0);
  const auto G_nte = random_tensor<T, 3>({nh, t, e}, 404);
  const auto dO3 = G_nte.view().permute(1, 0, 2);  // [t, nh, e]
  const auto A1c = A1.clone();
  const auto W1c = W1.clone();
  const auto Pc = P.clone();
  const auto dO3c = dO3.clone();
  const auto want = tessel::matmul_with_importance(A1c, W1c, Pc, nh, o, dO3c);
  CHECK(want.selected == sel);
  CHECK_VERDICT(judge(want.output, ref_importance_forward(dense(A1), dense(W1), nh, sel)));
  CHECK_VERDICT(judge(*want.grad_input, ref_grad_input(dense(W1), nh, sel, dense(dO3), b, s)));
  CHECK_VERDICT(judge(*want.grad_weight, ref_grad_weight(dense(A1), nh, sel, dense(dO3))));

  auto same = [&](const tessel::ImportanceResult<T>& r) {
    CHECK(r.selected == want.selected);
    CHECK(same_bits(r.output, want.output));
    REQUIRE(r.grad_input);
    REQUIRE(r.grad_weight);
    CHECK(same_bits(*r.grad_input, *want.grad_input));
    CHECK(same_bits(*r.grad_weight, *want.grad_weight));
  };
  same(tessel::matmul_with_importance(A1, W1, P, nh, o, dO3));
  same(tessel::matmul_with_importance(A1, W1c, Pc, nh, o, dO3c));
  same(tessel::matmul_with_importance(A1c, W1, P, nh, o, dO3));
  same(tessel::matmul_with_importance(A1c, W1c, Pc, nh, o, dO3));
  // Inputs unchanged.
  CHECK(same_bits(A_sbh, random_tensor<T, 3>({s, b, h}, 401)));
  CHECK(same_bits(W_eh, random_tensor<T, 2>({e, h}, 402)));
  CHECK(same_bits(P_sb, make_p<T>(s, b, 403, true)));
  CHECK(same_bits(G_nte, random_tensor<T, 3>({nh, t, e}, 404)));

  SECTION("sliced and expanded views") {
    const auto Abig = random_tensor<T, 3>({b, s + 2, h + 6}, 405);
    const auto As = Abig.view().narrow(1, 1, s).narrow(2, 3, h);
    const auto Wrow = random_tensor<T, 2>({h, 1}, 406);
    const auto We = Wrow.view().expand(h, e);                        // stride-0 columns
    const auto Prow = make_p<T>(1, s, 407, false);
    const auto Pe = Prow.view().expand(b, s);                        // every row the same
    const auto Gbig = random_tensor<T, 3>({b * s, nh, e + 4}, 408);  // enough rows for any t
    const auto sel2 = ref_select<T>(dense(Pe), 0.0, 3);
    const auto t2 = static_cast<std::int64_t>(sel2.size());
    REQUIRE(t2 == 3 * b);
    const auto Gs = Gbig.view().narrow(0, 0, t2).narrow(2, 2, e);
    const auto got = tessel::matmul_with_importance(As, We, Pe, nh, opts(0.0, 3), Gs);
    const auto ref = tessel::matmul_with_importance(As.clone(), We.clone(), Pe.clone(), nh, opts(0.0, 3), Gs.clone());
    CHECK(got.selected == sel2);
    CHECK(same_bits(got.output, ref.output));
    CHECK(same_bits(*got.grad_input, *ref.grad_input));
    CHECK(same_bits(*got.grad_weight, *ref.grad_weight));
    CHECK_VERDICT(judge(got.output, ref_importance_forward(dense(As), dense(We), nh, sel2)));
    CHECK_VERDICT(judge(*got.grad_weight, ref_grad_weight(dense(As), nh, sel2, dense(Gs))));
  }
}

TEMPLATE_TEST_CASE("matmul_with_importance_into with a known selection", "[importance][into]", float, float16,
                   bfloat16) {
  using T = TestType;
  const std::int64_t b = 2, s = 11, h = 24, nh = 6, e = 10;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 501);
  const auto W1 = random_tensor<T, 2>({h, e}, 502);
  const auto P = make_p<T>(b, s, 503, false);
  const auto o = opts(0.1, 5);
  const auto sel = tessel::select_important(P, o);
  const auto t = static_cast<std::int64_t>(sel.size());
  REQUIRE(t > 0);
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 504);
  const auto want = tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
  const auto A10 = A1; const auto W10 = W1; const auto dO30 = dO3;

  // O3 into a permuted [nh, t, e] buffer; the gradients: none, only dA1, only dW1, both.
  for (int mode = 0; mode < 4; ++mode) {
    CAPTURE(mode);
    Tensor<T, 3> O3buf({nh, t, e});
    fill(O3buf, sentinel<T>());
    Tensor<T, 3> dA1({b, s, h});
    fill(dA1, sentinel<T>());                   // every element must be overwritten (zeros included)
    Tensor<T, 2> dW1buf({e, h});                // written transposed
    fill(dW1buf, sentinel<T>());
    std::optional<TensorView<const T, 3>> g;
    std::optional<TensorView<T, 3>> gi;
    std::optional<TensorView<T, 2>> gw;
    if (mode > 0) g = dO3.view();
    if (mode == 1 || mode == 3) gi = dA1.view();
    if (mode == 2 || mode == 3) gw = dW1buf.view().transpose(0, 1);
    tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3buf.view().permute(1, 0, 2), g, gi, gw);
    CHECK(same_bits(O3buf.view().permute(1, 0, 2).clone(), want.output));
    if (gi) CHECK(same_bits(dA1, *want.grad_input));
    else CHECK(all_equal_to(dA1, sentinel<T>()));
    if (gw) CHECK(same_bits(dW1buf.view().transpose(0, 1).clone(), *want.grad_weight));
    else CHECK(all_equal_to(dW1buf, sentinel<T>()));
  }
  // A selection the caller made up (any ascending flat positions), with strided dA1.
  const std::vector<std::int64_t> mine = {0, 3, 11, 12, 21};
  const auto tm = static_cast<std::int64_t>(mine.size());
  const auto G = random_tensor<T, 3>({tm, nh, e}, 505);
  Tensor<T, 3> O3({tm, nh, e});
  Tensor<T, 3> dA_hsb({h, s, b});
  fill(dA_hsb, sentinel<T>());
  Tensor<T, 2> dW({h, e});
  tessel::matmul_with_importance_into<T>(A1, W1, mine, nh, O3.view(), G.view(), dA_hsb.view().permute(2, 1, 0),
                                         dW.view());
  const Dense dA = dense(A1), dWd = dense(W1), dG = dense(G);
  CHECK_VERDICT(judge(O3, ref_importance_forward(dA, dWd, nh, mine)));
  CHECK_VERDICT(judge(dA_hsb.view().permute(2, 1, 0), ref_grad_input(dWd, nh, mine, dG, b, s)));
  CHECK_VERDICT(judge(dW, ref_grad_weight(dA, nh, mine, dG)));
  // An empty selection: O3 [0, nh, e], dA1 and dW1 zero.
  Tensor<T, 3> O3e({0, nh, e}), Ge({0, nh, e});
  Tensor<T, 3> dAe({b, s, h});
  fill(dAe, sentinel<T>());
  Tensor<T, 2> dWe({h, e});
  fill(dWe, sentinel<T>());
  tessel::matmul_with_importance_into<T>(A1, W1, std::vector<std::int64_t>{}, nh, O3e.view(), Ge.view(), dAe.view(),
                                         dWe.view());
  CHECK(all_equal_to(dAe, T{}));
  CHECK(all_equal_to(dWe, T{}));
  CHECK(same_bits(A1, A10));
  CHECK(same_bits(W1, W10));
  CHECK(same_bits(dO3, dO30));
}

TEMPLATE_TEST_CASE("importance matmul: invalid arguments throw shape_error before writing", "[importance][errors]",
                   float, float16, bfloat16) {
  using T = TestType;
  const std::int64_t b = 2, s = 6, h = 12, nh = 3, e = 5;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 601);
  const auto W1 = random_tensor<T, 2>({h, e}, 602);
  const auto P = make_p<T>(b, s, 603, false);
  const auto A10 = A1; const auto W10 = W1; const auto P0 = P;
  const auto o = opts(0.0, 2);  // t = 4
  const std::int64_t t = 4;
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 604);
  constexpr const char* fn = "matmul_with_importance";
  auto expect = [&](auto&& call, std::vector<std::string> parts) {
    const std::string msg = error_of(call);
    CAPTURE(msg);
    CHECK_THAT(msg, Catch::StartsWith(fn));
    for (const auto& p : parts) CHECK_THAT(msg, Catch::Contains(p));
  };
  // h % nh, nh < 1, W1's height
  expect([&] { (void)tessel::matmul_with_importance(A1, W1, P, 5, o); }, {"[2, 6, 12]", "5"});
  expect([&] { (void)tessel::matmul_with_importance(A1, W1, P, 0, o); }, {"num_heads"});
  expect([&] { (void)tessel::matmul_with_importance(A1, W1, P, -3, o, dO3); }, {"num_heads"});
  const auto Wbad = random_tensor<T, 2>({h - 1, e}, 605);
  expect([&] { (void)tessel::matmul_with_importance(A1, Wbad, P, nh, o); }, {"[11, 5]", "[2, 6, 12]"});
  // P of the wrong shape
  for (auto shape : std::vector<tessel::Shape<2>>{{b, s + 1}, {b + 1, s}, {s, b}}) {
    const auto Pbad = make_p<T>(shape[0], shape[1], 606, false);
    expect([&] { (void)tessel::matmul_with_importance(A1, W1, Pbad, nh, o); },
           {"P", tessel::detail::shape_string(shape), "[2, 6]"});
  }
  // top_p outside [0, 1] or NaN; top_k outside [1, s]
  for (double p : {-0.5, 1.5, std::numeric_limits<double>::quiet_NaN()})
    expect([&] { (void)tessel::matmul_with_importance(A1, W1, P, nh, opts(p)); }, {"top_p"});
  for (std::int64_t k : {0, -2, 7}) {
    ImportanceOptions bad;
    bad.top_p = 0.0;
    bad.top_k = k;
    expect([&] { (void)tessel::matmul_with_importance(A1, W1, P, nh, bad, dO3); }, {"top_k", "6"});
  }
  // grad_output of the wrong shape
  for (auto shape : std::vector<tessel::Shape<3>>{{t + 1, nh, e}, {t - 1, nh, e}, {t, nh + 1, e}, {t, nh, e - 1}}) {
    const auto Gbad = random_tensor<T, 3>(shape, 607);
    expect([&] { (void)tessel::matmul_with_importance(A1, W1, P, nh, o, Gbad); },
           {"grad_output", tessel::detail::shape_string(shape), "[4, 3, 5]"});
  }

  // The _into form: every output filled with a sentinel must stay untouched.
  const auto sel = tessel::select_important(P, o);
  REQUIRE(static_cast<std::int64_t>(sel.size()) == t);
  Tensor<T, 3> O3({t, nh, e}), dA1({b, s, h});
  Tensor<T, 2> dW1({h, e});
  fill(O3, sentinel<T>());
  fill(dA1, sentinel<T>());
  fill(dW1, sentinel<T>());
  const std::string fi = "matmul_with_importance_into";
  auto expect_into = [&](auto&& call, std::vector<std::string> parts) {
    const std::string msg = error_of(call);
    CAPTURE(msg);
    CHECK_THAT(msg, Catch::StartsWith(fi));
    for (const auto& p : parts) CHECK_THAT(msg, Catch::Contains(p));
    CHECK(all_equal_to(O3, sentinel<T>()));
    CHECK(all_equal_to(dA1, sentinel<T>()));
    CHECK(all_equal_to(dW1, sentinel<T>()));
  };
  using V3 = TensorView<T, 3>;
  using V2 = TensorView<T, 2>;
  expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, 5, O3.view(), dO3.view(), dA1.view(), dW1.view()); },
              {"[2, 6, 12]"});
  expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, 0, O3.view()); }, {"num_heads"});
  expect_into([&] { tessel::matmul_with_importance_into<T>(A1, Wbad, sel, nh, O3.view()); }, {"[11, 5]"});
  // selections that are not strictly ascending positions in [0, b*s)
  for (const auto& bad : std::vector<std::vector<std::int64_t>>{{0, 2, 2, 5}, {3, 1, 4, 5}, {0, 1, 2, 12}, {-1, 0, 1, 2}})
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, bad, nh, O3.view(), dO3.view(), dA1.view(), dW1.view()); },
                {"selected"});
  // O3, grad_output, grad_input, grad_weight of the wrong shape
  {
    Tensor<T, 3> O3bad({t, nh, e + 1});
    fill(O3bad, sentinel<T>());
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3bad.view()); }, {"O3", "[4, 3, 6]", "[4, 3, 5]"});
    CHECK(all_equal_to(O3bad, sentinel<T>()));
    const auto Gbad = random_tensor<T, 3>({t, nh, e + 2}, 608);
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), Gbad.view(), dA1.view()); },
                {"grad_output", "[4, 3, 7]"});
    Tensor<T, 3> dAbad({b, s, h + 1});
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), dAbad.view()); },
                {"grad_input", "[2, 6, 13]", "[2, 6, 12]"});
    Tensor<T, 2> dWbad({e, h});
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), std::nullopt, dWbad.view()); },
                {"grad_weight", "[5, 12]", "[12, 5]"});
    // gradient outputs without grad_output
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), std::nullopt, dA1.view()); },
                {"grad_output"});
  }
  // Outputs overlapping inputs or each other.
  {
    Tensor<T, 1> store({b * s * h + t * nh * e});
    V3 A(store.data(), {b, s, h});
    A.copy_(A1.view());
    const Tensor<T, 1> store0 = store;
    V3 O(store.data() + b * s * h - 1, {t, nh, e});
    expect_into([&] { tessel::matmul_with_importance_into<T>(A, W1, sel, nh, O); }, {"O3", "overlap", "A1"});
    CHECK(same_bits(store, store0));
  }
  {
    Tensor<T, 3> Wbig({1, h, e});
    Wbig.view().select(0, 0).copy_(W1.view());
    const Tensor<T, 3> Wbig0 = Wbig;
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, Wbig.view().select(0, 0), sel, nh, O3.view(), dO3.view(), std::nullopt, Wbig.view().select(0, 0)); },
                {"grad_weight", "overlap", "W1"});
    CHECK(same_bits(Wbig, Wbig0));
  }
  {
    Tensor<T, 3> G = dO3;
    const Tensor<T, 3> G0 = G;
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, G.view(), G.view()); }, {"O3", "overlap", "grad_output"});
    CHECK(same_bits(G, G0));
  }
  {
    // grad_input sharing memory with O3 (O3 placed inside the dA1 buffer).
    Tensor<T, 3> big({b, s, h});
    fill(big, sentinel<T>());
    V3 O(big.data() + 7, {t, nh, e});
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O, dO3.view(), big.view()); },
                {"grad_input", "overlap", "O3"});
    CHECK(all_equal_to(big, sentinel<T>()));
    // grad_weight sharing memory with grad_input.
    V2 Wv(big.data() + 3, {h, e});
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), big.view(), Wv); },
                {"grad_weight", "overlap", "grad_input"});
    CHECK(all_equal_to(big, sentinel<T>()));
    // an expanded (self-overlapping) O3
    Tensor<T, 3> one({t, nh, 1});
    fill(one, sentinel<T>());
    expect_into([&] { tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, one.view().expand(t, nh, e)); }, {"O3"});
    CHECK(all_equal_to(one, sentinel<T>()));
  }
  CHECK(same_bits(A1, A10));
  CHECK(same_bits(W1, W10));
  CHECK(same_bits(P, P0));
}

TEMPLATE_TEST_CASE("importance matmul: 1 and 2 threads, and inside a caller's parallel region, give the same bits",
                   "[importance][threads]", float, float16, bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  // t = b·top_k = 192 rows: 2·t·h·e ≈ 12.6 MFLOP per product, above the threading threshold.
  const std::int64_t b = 2, s = 160, h = 256, nh = 4, e = 128, k = 96;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 701);
  const auto W1 = random_tensor<T, 2>({h, e}, 702);
  const auto P = make_p<T>(b, s, 703, true);
  const auto o = opts(0.0, k);
  const auto t = static_cast<std::int64_t>(ref_select<T>(dense(P), 0.0, k).size());
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 704);
  tessel::set_num_threads(1);
  const auto one = tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
  tessel::set_num_threads(2);
  const auto two = tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
  CHECK(one.selected == two.selected);
  CHECK(same_bits(one.output, two.output));
  CHECK(same_bits(*one.grad_input, *two.grad_input));
  CHECK(same_bits(*one.grad_weight, *two.grad_weight));

  constexpr int kCallers = 2;
  std::vector<tessel::ImportanceResult<T>> results(kCallers);
  std::vector<std::string> errors(kCallers);
#if defined(_OPENMP)
#pragma omp parallel num_threads(kCallers)
  {
    const int id = omp_get_thread_num();
#else
  for (int id = 0; id < kCallers; ++id) {
#endif
    try {
      results[static_cast<std::size_t>(id)] = tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
    } catch (const std::exception& ex) {
      errors[static_cast<std::size_t>(id)] = ex.what();
    }
  }
  for (int id = 0; id < kCallers; ++id) {
    CAPTURE(id);
    const auto& r = results[static_cast<std::size_t>(id)];
    CHECK(errors[static_cast<std::size_t>(id)].empty());
    CHECK(r.selected == one.selected);
    CHECK(same_bits(r.output, one.output));
    REQUIRE(r.grad_input);
    REQUIRE(r.grad_weight);
    CHECK(same_bits(*r.grad_input, *one.grad_input));
    CHECK(same_bits(*r.grad_weight, *one.grad_weight));
  }
}

TEMPLATE_TEST_CASE("importance matmul: a large dA1's unselected rows are zeroed by the call's threads, same bits",
                   "[importance][threads][into]", float, bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  // dA1 of 2-4 MiB: the zero fill of its unselected rows is split over two threads, in blocks
  // of 64 rows that selected rows cut at and across the block edges.
  const std::int64_t b = 2, s = 1024, h = 512, nh = 4, e = 16;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 801);
  const auto W1 = random_tensor<T, 2>({h, e}, 802);
  std::vector<std::int64_t> sel = {0, 1, 63, 64, 127, 128, 129, 1023, 1024, 2047};
  for (std::int64_t q = 200; q < 1900; q += 37) sel.push_back(q);
  std::sort(sel.begin(), sel.end());
  sel.erase(std::unique(sel.begin(), sel.end()), sel.end());
  const auto t = static_cast<std::int64_t>(sel.size());
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 803);
  Tensor<T, 3> O3({t, nh, e});
  Tensor<T, 3> one({b, s, h}), two({b, s, h}), strided_buf({h, s, b});
  fill(one, sentinel<T>());
  fill(two, sentinel<T>());
  fill(strided_buf, sentinel<T>());
  tessel::set_num_threads(1);
  tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), one.view());
  tessel::set_num_threads(2);
  tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), two.view());
  tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(),
                                         strided_buf.view().permute(2, 1, 0));
  CHECK(same_bits(one, two));
  CHECK(same_bits(strided_buf.view().permute(2, 1, 0).clone(), two));
  // Every unselected row is exactly zero, every selected row the product.
  const auto is_plus_zero = [](T x) {
    const T zero{};
    return std::memcmp(&x, &zero, sizeof(T)) == 0;
  };
  std::int64_t wrong_zero = 0;
  std::size_t next = 0;
  for (std::int64_t q = 0; q < b * s; ++q) {
    const bool selected = next < sel.size() && sel[next] == q;
    if (selected) ++next;
    else
      for (std::int64_t c = 0; c < h; ++c)
        if (!is_plus_zero(two.data()[q * h + c])) ++wrong_zero;
  }
  CHECK(wrong_zero == 0);
  CHECK_VERDICT(judge(two, ref_grad_input(dense(W1), nh, sel, dense(dO3), b, s)));
}

TEMPLATE_TEST_CASE("importance matmul on every registered path", "[importance][isa]", float, float16, bfloat16) {
  using T = TestType;
  const std::int64_t b = 3, s = 14, h = 36, nh = 3, e = 29;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 801);
  const auto W1 = random_tensor<T, 2>({h, e}, 802);
  const auto P = make_p<T>(b, s, 803, true);
  const auto o = opts(0.1, 7);
  const auto sel = ref_select<T>(dense(P), 0.1, 7);
  const auto t = static_cast<std::int64_t>(sel.size());
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 804);
  const Dense dA = dense(A1), dW = dense(W1), dG = dense(dO3);
  const Ref rO = ref_importance_forward(dA, dW, nh, sel), rA = ref_grad_input(dW, nh, sel, dG, b, s),
            rW = ref_grad_weight(dA, nh, sel, dG);
  for (const tessel_test::TestPath& path : tessel_test::test_paths<T>()) {
    tessel_test::PathScope use(path);
    CAPTURE(path.name);
    REQUIRE(tessel::current_isa() == path.isa);
    const auto r = tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
    CHECK(r.selected == sel);
    CHECK_VERDICT(judge(r.output, rO));
    CHECK_VERDICT(judge(*r.grad_input, rA));
    CHECK_VERDICT(judge(*r.grad_weight, rW));
  }
}

// The detail form data-parallel training uses for its chunk partials (distributed/
// data_parallel.hpp): float16/bfloat16 inputs read in place, dW1 as the engine's fp32 sum
// (no rounding to T), judged by fp32's tolerance; rounded to T it is the T-output dW1.
TEMPLATE_TEST_CASE("importance dW1 into a float output on every registered path", "[importance][isa]", float16,
                   bfloat16) {
  using T = TestType;
  const std::int64_t b = 3, s = 14, h = 36, nh = 3, e = 29;
  // Strided operands, read in place: A1 permuted from [s, b, h], dO3 from [nh, t, e].
  const auto A_sbh = random_tensor<T, 3>({s, b, h}, 811);
  const TensorView<const T, 3> A1 = A_sbh.view().permute(1, 0, 2);
  const auto P = make_p<T>(b, s, 813, false);
  const auto sel = ref_select<T>(dense(P), 0.1, 7);
  const auto t = static_cast<std::int64_t>(sel.size());
  REQUIRE(t > 0);
  const auto G_nte = random_tensor<T, 3>({nh, t, e}, 814);
  const TensorView<const T, 3> dO3 = G_nte.view().permute(1, 0, 2);
  const Ref rW = ref_grad_weight(dense(A1), nh, sel, dense(dO3));
  for (const tessel_test::TestPath& path : tessel_test::test_paths<T>()) {
    tessel_test::PathScope use(path);
    CAPTURE(path.name);
    Tensor<float, 2> dW32({h, e});
    fill(dW32, std::numeric_limits<float>::quiet_NaN());  // every element must be written
    tessel::detail::importance_grad_weight<T, float>(A1, sel, nh, dO3, dW32.view());
    CHECK_VERDICT(judge(dW32, rW));
    Tensor<T, 2> dWT({h, e});
    tessel::detail::importance_grad_weight<T>(A1, sel, nh, dO3, dWT.view());
    Tensor<T, 2> rounded({h, e});
    for (std::int64_t q = 0; q < h * e; ++q) rounded.data()[q] = tessel::from_float<T>(dW32.data()[q]);
    CHECK(same_bits(rounded, dWT));
    // t = 0: exact zeros, written over whatever was there.
    fill(dW32, std::numeric_limits<float>::quiet_NaN());
    const Tensor<T, 3> G0(tessel::Shape<3>{0, nh, e});
    tessel::detail::importance_grad_weight<T, float>(A1, std::span<const std::int64_t>{}, nh, G0.view(), dW32.view());
    CHECK(all_equal_to(dW32, 0.0f));
  }
}

TEST_CASE("importance matmul deduces T from Tensors, non-const views and reshape()/contiguous() results",
          "[importance]") {
  using T = float16;
  Tensor<T, 3> A1 = random_tensor<T, 3>({2, 4, 6}, 901);
  Tensor<T, 2> W1 = random_tensor<T, 2>({6, 3}, 902);
  Tensor<T, 2> P = make_p<T>(2, 4, 903, false);
  const auto o = opts(0.0, 2);
  Tensor<T, 3> dO3 = random_tensor<T, 3>({4, 2, 3}, 904);
  const auto want = tessel::matmul_with_importance(A1, W1, P, 2, o, dO3);
  TensorView<T, 3> av = A1.view();
  TensorView<T, 2> wv = W1.view();
  TensorView<T, 2> pv = P.view();
  TensorView<T, 3> gv = dO3.view();
  auto check = [&](const tessel::ImportanceResult<T>& r, bool grads) {
    CHECK(r.selected == want.selected);
    CHECK(same_bits(r.output, want.output));
    CHECK(r.grad_input.has_value() == grads);
    if (grads) {
      CHECK(same_bits(*r.grad_input, *want.grad_input));
      CHECK(same_bits(*r.grad_weight, *want.grad_weight));
    }
  };
  check(tessel::matmul_with_importance(av, wv, pv, 2, o, gv), true);
  check(tessel::matmul_with_importance(av, wv, pv, 2, o), false);
  {
    // Default options: top_p = 1, no top_k.
    const auto d = tessel::matmul_with_importance(av, wv, pv, 2);
    const auto e = tessel::matmul_with_importance(A1, W1, P, 2, opts(1.0));
    CHECK(d.selected == e.selected);
    CHECK(same_bits(d.output, e.output));
  }
  auto ar = A1.view().reshape(8, 6).reshape(2, 4, 6);
  auto wc = W1.view().transpose(0, 1).contiguous();  // [3, 6], a copy
  auto pr = P.view().reshape(2, 4);
  auto gc = dO3.view().contiguous();
  check(tessel::matmul_with_importance(ar, wc.transpose(0, 1), pr, 2, o, gc), true);
  check(tessel::matmul_with_importance(ar, W1, pv, 2, o, dO3), true);
}

TEMPLATE_TEST_CASE("importance matmul: many selected rows (dW1 reduces over t > kc), empty b", "[importance]", float,
                   float16, bfloat16) {
  using T = TestType;
  // t = 2·300 = 600 rows: dW1's reduction spans more than one kc block.
  check_case<T>(Case{2, 300, 16, 2, 8, 0.0, -1, false}, 1201, true);
  check_case<T>(Case{2, 300, 16, 2, 8, 0.5, 250, true}, 1211, true);
  // b = 0: nothing selected, empty outputs, gradients of the right (empty / zero) shapes.
  const auto A1 = random_tensor<T, 3>({0, 4, 8}, 1221);
  const auto W1 = random_tensor<T, 2>({8, 3}, 1222);
  Tensor<T, 2> P({0, 4});
  Tensor<T, 3> g({0, 2, 3});
  const auto r = tessel::matmul_with_importance(A1, W1, P, 2, opts(0.0, 2), g);
  CHECK(r.selected.empty());
  CHECK(r.output.shape() == (tessel::Shape<3>{0, 2, 3}));
  REQUIRE(r.grad_input);
  CHECK(r.grad_input->shape() == (tessel::Shape<3>{0, 4, 8}));
  REQUIRE(r.grad_weight);
  CHECK(all_equal_to(*r.grad_weight, T{}));
}

TEST_CASE("matmul_with_importance_into deduces T from Tensors and non-const views", "[importance][into]") {
  using T = bfloat16;
  Tensor<T, 3> A1 = random_tensor<T, 3>({2, 5, 8}, 1301);
  Tensor<T, 2> W1 = random_tensor<T, 2>({8, 3}, 1302);
  Tensor<T, 2> P = make_p<T>(2, 5, 1303, false);
  const auto o = opts(0.0, 2);
  Tensor<T, 3> dO3 = random_tensor<T, 3>({4, 2, 3}, 1304);
  const auto want = tessel::matmul_with_importance(A1, W1, P, 2, o, dO3);
  Tensor<T, 3> O3({4, 2, 3}), dA1({2, 5, 8});
  Tensor<T, 2> dW1({8, 3});
  tessel::matmul_with_importance_into(A1, W1, want.selected, 2, O3);
  CHECK(same_bits(O3, want.output));
  TensorView<T, 3> av = A1.view(), ov = O3.view();
  fill(O3, T{});
  tessel::matmul_with_importance_into(av, W1.view(), want.selected, 2, ov, dO3, dA1, dW1.view());
  CHECK(same_bits(O3, want.output));
  CHECK(same_bits(dA1, *want.grad_input));
  CHECK(same_bits(dW1, *want.grad_weight));
}
