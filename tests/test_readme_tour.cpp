// The README's API tour, line for line as it is printed there, with each result checked
// against an independent fp64 loop: if the README stops compiling or stops being true, this
// test fails.
#include <catch2/catch.hpp>
#include <tessel/tessel.hpp>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

using namespace tessel;

namespace {

// fp32 accumulation of n products is within n·2^-24 of the exact sum, relative to the sum of
// the products' magnitudes (not to the result, which may cancel).
bool near(double got, double want, double magnitude, std::int64_t n) {
  return std::abs(got - want) <= double(n + 1) * 0x1p-24 * magnitude + 1e-30;
}

// Churn the allocator so that memory a dangling view pointed into would be reused.
void churn() {
  for (int i = 0; i < 8; ++i) {
    auto t = full<float>({64, 64}, -1234.0);
    (void)t;
  }
}

}  // namespace

TEST_CASE("README tour: the PyTorch lines compile and keep their memory alive", "[readme]") {
  const std::int64_t b = 2, s = 3, nh = 2, hd = 4;
  auto x = randn<float>({b, s, 3 * nh * hd}, /*seed=*/1);
  auto q = x.view(b, s, 3, nh, hd).select(2, 0).transpose(1, 2).contiguous();  // [b, nh, s, hd]
  auto o = q.transpose(1, 2).contiguous().view(b, s, -1);
  auto parts = x.transpose(0, 1).contiguous().split(2, 0);
  Tensor<bfloat16, 3> xb = x.to<bfloat16>();
  churn();

  REQUIRE(q.shape() == Shape<4>{b, nh, s, hd});
  REQUIRE(o.shape() == Shape<3>{b, s, nh * hd});
  CHECK(q.owns_memory());
  CHECK(o.owns_memory());
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t j = 0; j < s; ++j)
        for (std::int64_t d = 0; d < hd; ++d) {
          const float want = x(i, j, n * hd + d);  // the query block is the first third
          CHECK(q(i, n, j, d) == want);
          CHECK(o(i, j, n * hd + d) == want);
        }
  REQUIRE(parts.size() == 2);  // [s, b, 24] split by 2 along s = 3: sizes 2 and 1
  CHECK(parts[0].shape() == Shape<3>{2, b, 3 * nh * hd});
  CHECK(parts[1].shape() == Shape<3>{1, b, 3 * nh * hd});
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t c = 0; c < 3 * nh * hd; ++c) {
      CHECK(parts[0](1, i, c) == x(i, 1, c));
      CHECK(parts[1](0, i, c) == x(i, 2, c));
    }
  for (std::int64_t i = 0; i < x.numel(); ++i) CHECK(float(xb.data()[i]) == float(bfloat16(x.data()[i])));

  std::ostringstream printed;
  printed << x.narrow(2, 0, 4) << "\n";
  CHECK(printed.str().find("tensor(") == 0);

  auto a = x.clone();
  CHECK(allclose(a, x, /*rtol=*/1e-5, /*atol=*/1e-8));
  a(0, 0, 0) += 1.0f;
  CHECK_FALSE(allclose(a, x, 1e-5, 1e-8));
  CHECK_FALSE(equal(a, x));
}

TEST_CASE("README tour: multi-head, importance, matmul, linear and einsum as written", "[readme]") {
  const std::int64_t b = 2, s = 8, h = 16, e = 8, nh = 4, hd = h / nh;
  auto A1 = randn<bfloat16>({b, s, h}, 2);
  auto W1 = randn<bfloat16>({h, e}, 3);
  Tensor<bfloat16, 2> P({b, s});
  for (std::int64_t i = 0; i < P.numel(); ++i) P.data()[i] = bfloat16(double(i % 5) / 4.0);

  // Multi-head into a permuted buffer ("any output strides").
  Tensor<bfloat16, 4> O2 = matmul_with_multi_head(A1, W1, nh);
  Tensor<bfloat16, 4> buf({b, nh, s, e});
  matmul_with_multi_head_into(A1, W1, nh, buf.permute(0, 2, 1, 3));
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t c = 0; c < e; ++c) {
          double want = 0;
          for (std::int64_t k = 0; k < hd; ++k) want += double(A1(i, j, n * hd + k)) * double(W1(n * hd + k, c));
          CHECK(float(O2(i, j, n, c)) == float(bfloat16(want)));
          CHECK(float(buf(i, n, j, c)) == float(O2(i, j, n, c)));
        }

  // Importance with top_p = 0 keeps exactly the top_k of each row.
  auto r = matmul_with_importance(A1, W1, P, nh, {.top_p = 0.0, .top_k = 3});
  CHECK(r.selected.size() == std::size_t(b * 3));
  CHECK(r.output.shape() == Shape<3>{b * 3, nh, e});
  // The default top_p = 1.0 selects only the entries equal to 1.
  auto strict = matmul_with_importance(A1, W1, P, nh, {.top_k = 3});
  for (auto pos : strict.selected) CHECK(float(P.data()[pos]) == 1.0f);

  auto dO3 = randn<bfloat16>({std::int64_t(r.selected.size()), nh, e}, 4);
  auto g = matmul_with_importance(A1, W1, P, nh, {.top_p = 0.0, .top_k = 3}, dO3);
  REQUIRE(g.grad_input.has_value());
  REQUIRE(g.grad_weight.has_value());

  std::vector<std::int64_t> selected;
  select_important_into(P, {.top_p = 0.0, .top_k = 3}, selected);
  CHECK(selected == r.selected);
  Tensor<bfloat16, 3> O3({std::int64_t(selected.size()), nh, e}), dA1({b, s, h});
  Tensor<bfloat16, 2> dW1({h, e});
  matmul_with_importance_into(A1, W1, selected, nh, O3, dO3, dA1, dW1);
  CHECK(equal(O3, r.output));
  CHECK(equal(dA1, *g.grad_input));
  CHECK(equal(dW1, *g.grad_weight));

  // matmul, and matmul_into with a transposed Tensor operand.
  {
  auto A = randn<float>({5, 7}, 5);
  auto B = randn<float>({6, 7}, 6);
  auto Bt = B.transpose(0, 1).contiguous();
  Tensor<float, 2> C = matmul(A, Bt);
  Tensor<float, 2> C2({5, 6});
  matmul_into(A, B.transpose(0, 1), C2);
  for (std::int64_t i = 0; i < 5; ++i)
    for (std::int64_t j = 0; j < 6; ++j) {
      double want = 0, mag = 0;
      for (std::int64_t k = 0; k < 7; ++k) {
        want += double(A(i, k)) * double(B(j, k));
        mag += std::abs(double(A(i, k)) * double(B(j, k)));
      }
      CHECK(near(C(i, j), want, mag, 7));
      CHECK(C2(i, j) == C(i, j));
    }
  }

  // linear and its backward.
  const std::int64_t in = 7, out = 3;
  auto xl = randn<float>({2, 4, in}, 7);
  auto w = randn<float>({out, in}, 8);
  auto bias = randn<float>({out}, 9);
  auto y = linear(xl, w, bias);
  auto dy = randn<float>({2, 4, out}, 10);
  auto grads = linear_backward(dy, xl, w, /*with_bias=*/true);
  REQUIRE(grads.grad_bias.has_value());
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 4; ++j)
      for (std::int64_t o = 0; o < out; ++o) {
        double want = double(bias(o)), mag = std::abs(double(bias(o)));
        for (std::int64_t k = 0; k < in; ++k) {
          want += double(xl(i, j, k)) * double(w(o, k));
          mag += std::abs(double(xl(i, j, k)) * double(w(o, k)));
        }
        CHECK(near(y(i, j, o), want, mag, in + 1));
      }
  for (std::int64_t o = 0; o < out; ++o) {
    double want = 0, mag = 0;
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 4; ++j) want += double(dy(i, j, o)), mag += std::abs(double(dy(i, j, o)));
    CHECK(near((*grads.grad_bias)(o), want, mag, 8));
  }
  Linear<float> layer(in, out);
  CHECK(layer.forward(xl).shape() == Shape<3>{2, 4, out});

  // einsum, compile-time and run-time equations.
  auto Q = randn<float>({1, 2, 3, 4}, 11);
  auto K = randn<float>({1, 2, 5, 4}, 12);
  auto S = einsum<"bhqd,bhkd->bhqk">(Q, K);
  REQUIRE(S.shape() == Shape<4>{1, 2, 3, 5});
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t i = 0; i < 3; ++i)
      for (std::int64_t j = 0; j < 5; ++j) {
        double want = 0, mag = 0;
        for (std::int64_t d = 0; d < 4; ++d) {
          want += double(Q(0, n, i, d)) * double(K(0, n, j, d));
          mag += std::abs(double(Q(0, n, i, d)) * double(K(0, n, j, d)));
        }
        CHECK(near(S(0, n, i, j), want, mag, 4));
      }
  auto A = randn<float>({2, 3, nh, hd}, 13);
  auto W = randn<float>({nh, hd, e}, 14);
  Tensor<float, 4> O = einsum<4>("bsnk,nke->bsne", A, W);
  REQUIRE(O.shape() == Shape<4>{2, 3, nh, e});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t c = 0; c < e; ++c) {
          double want = 0, mag = 0;
          for (std::int64_t k = 0; k < hd; ++k) {
            want += double(A(i, j, n, k)) * double(W(n, k, c));
            mag += std::abs(double(A(i, j, n, k)) * double(W(n, k, c)));
          }
          CHECK(near(O(i, j, n, c), want, mag, hd));
        }
}
