// linear, linear_into, linear_backward and the Linear layer (SPEC §9) against fp64 loops
// written here from the formulas, for float, float16 and bfloat16 on every ISA path: x of
// rank 1 to 5, in/out = 1, zero leading positions and in = 0, inputs in random layouts
// (permuted, gapped), a transposed weight, a strided bias, strided and permuted outputs;
// the bias inside the single rounding; errors (before anything is written); the deducing
// forms; what each call allocates; thread invariance; the layer's initialisation.
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/einsum_reference.hpp"
#include "support/reference.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

using namespace tessel_test;
using tessel::Shape;
using tessel::Tensor;
using tessel::TensorView;

namespace {

// The fp64 references of SPEC §9 on dense copies: x [P, in] (P = leading positions),
// w [out, in], b [out] (or none), dy [P, out].
struct LinearRefs {
  Ref y, dx, dw, db;
};
LinearRefs ref_linear(const Dense& x, const Dense& w, const Dense* b, const Dense& dy) {
  const std::int64_t in = w.shape[1], out = w.shape[0];
  const std::int64_t P = in > 0 ? static_cast<std::int64_t>(x.v.size()) / in : static_cast<std::int64_t>(dy.v.size()) / std::max<std::int64_t>(out, 1);
  LinearRefs r;
  auto init = [](Ref& f, std::int64_t n, std::int64_t K) {
    f.val.assign(static_cast<std::size_t>(n), 0.0);
    f.mag = f.val;
    f.K = K;
  };
  init(r.y, P * out, in);
  init(r.dx, P * in, out);
  init(r.dw, out * in, P);
  init(r.db, out, P);
  for (std::int64_t p = 0; p < P; ++p)
    for (std::int64_t o = 0; o < out; ++o) {
      double s = b ? b->v[std::size_t(o)] : 0.0, m = b ? std::fabs(b->v[std::size_t(o)]) : 0.0;
      for (std::int64_t k = 0; k < in; ++k) {
        const double t = x.v[std::size_t(p * in + k)] * w.v[std::size_t(o * in + k)];
        s += t, m += std::fabs(t);
      }
      r.y.val[std::size_t(p * out + o)] = s, r.y.mag[std::size_t(p * out + o)] = m;
      const double g = dy.v[std::size_t(p * out + o)];
      r.db.val[std::size_t(o)] += g, r.db.mag[std::size_t(o)] += std::fabs(g);
      for (std::int64_t k = 0; k < in; ++k) {
        const double a = g * w.v[std::size_t(o * in + k)], c = g * x.v[std::size_t(p * in + k)];
        r.dx.val[std::size_t(p * in + k)] += a, r.dx.mag[std::size_t(p * in + k)] += std::fabs(a);
        r.dw.val[std::size_t(o * in + k)] += c, r.dw.mag[std::size_t(o * in + k)] += std::fabs(c);
      }
    }
  return r;
}

template <std::size_t R>
std::vector<std::int64_t> vec(const Shape<R>& s) {
  return {s.begin(), s.end()};
}

// One case: x [lead..., in] in random layouts, weight [out, in] as given and as the transpose
// of an [in, out] tensor, bias contiguous and strided; forward, _into a permuted output, and
// backward, on every ISA path.
template <class T, std::size_t R>
void check_linear(Shape<R> xs, std::int64_t out, bool with_bias, std::uint32_t seed) {
  const std::int64_t in = xs[R - 1];
  Shape<R> ys = xs;
  ys[R - 1] = out;
  CAPTURE(type_name<T>(), vec(xs), out, with_bias);
  const auto x = random_tensor<T, R>(xs, seed);
  const auto w = random_tensor<T, 2>({out, in}, seed + 1);
  const auto b = random_tensor<T, 1>({out}, seed + 2);
  const auto dy = random_tensor<T, R>(ys, seed + 3);
  const Dense bd = dense_any(b);
  LinearRefs ref = ref_linear(dense_any(x), dense_any(w), with_bias ? &bd : nullptr, dense_any(dy));
  ref.y.shape = vec(ys), ref.dx.shape = vec(xs), ref.dw.shape = {out, in}, ref.db.shape = {out};

  // Layouts: x permuted and gapped; weight stored transposed; bias with stride 2.
  std::mt19937 rng(seed);
  const auto x_odd = random_layout(x, rng);
  const auto dy_odd = random_layout(dy, rng);
  Tensor<T, 2> wt_store = tessel::einsum<"oi->io">(w);  // [in, out]
  const TensorView<const T, 2> w_t = wt_store.view().transpose(0, 1);
  Tensor<T, 1> b_store({2 * out});
  const TensorView<T, 1> b_gap(b_store.data(), {out}, {2});
  b_gap.copy_(b.view());
  std::optional<TensorView<const T, 1>> bias;
  if (with_bias) bias = b.view();
  std::optional<TensorView<const T, 1>> bias_gap;
  if (with_bias) bias_gap = TensorView<const T, 1>(b_gap);

  SettingsGuard guard;
  for (tessel::Isa isa : available_isas()) {
    tessel::set_isa(isa);
    CAPTURE(tessel::active_isa());
    const auto x0 = x;
    const auto w0 = w;
    const Tensor<T, R> y = tessel::linear<T, R>(x.view(), w.view(), bias);
    CHECK_VERDICT(judge_any(y, ref.y));
    CHECK(same_bits(x, x0));
    CHECK(same_bits(w, w0));
    {
      INFO("x in a random layout, weight transposed, bias strided");
      CHECK_VERDICT(judge_any(tessel::linear<T, R>(x_odd.view, w_t, bias_gap), ref.y));
    }
    {
      INFO("linear_into a permuted, gapped output");
      const Tensor<T, R> y_shape(ys);
      auto y_odd = random_layout(y_shape, rng);
      fill(y_odd.storage, sentinel<T>());
      tessel::linear_into<T, R>(x_odd.view, w.view(), bias, y_odd.view);
      CHECK_VERDICT(judge_any(TensorView<const T, R>(y_odd.view), ref.y));
      // Gaps between the output's elements are untouched.
      std::int64_t written = 0;
      for (std::int64_t i = 0; i < y_odd.storage.numel(); ++i)
        written += !(to_double(y_odd.storage.data()[i]) == to_double(sentinel<T>()));
      CHECK(written <= y_odd.view.numel());
    }
    const tessel::LinearGrads<T, R> g = tessel::linear_backward<T, R>(dy.view(), x.view(), w.view(), with_bias);
    CHECK_VERDICT(judge_any(g.grad_input, ref.dx));
    CHECK_VERDICT(judge_any(g.grad_weight, ref.dw));
    REQUIRE(g.grad_bias.has_value() == with_bias);
    if (with_bias) CHECK_VERDICT(judge_any(*g.grad_bias, ref.db));
    {
      INFO("backward on odd layouts");
      const auto h = tessel::linear_backward<T, R>(dy_odd.view, x_odd.view, w_t, with_bias);
      CHECK_VERDICT(judge_any(h.grad_input, ref.dx));
      CHECK_VERDICT(judge_any(h.grad_weight, ref.dw));
      if (with_bias) CHECK_VERDICT(judge_any(*h.grad_bias, ref.db));
    }
  }
}

template <class X, class W, class... B>
concept LinearCall = requires(const X& x, const W& w, const B&... b) { tessel::linear(x, w, b...); };

}  // namespace

TEMPLATE_TEST_CASE("linear and linear_backward against fp64, ranks 1 to 5", "[linear]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  check_linear<T, 1>({7}, 4, true, 1);
  check_linear<T, 1>({1}, 1, true, 2);
  check_linear<T, 1>({40}, 33, false, 3);
  check_linear<T, 2>({5, 7}, 3, true, 4);
  check_linear<T, 2>({1, 1}, 1, true, 5);
  check_linear<T, 2>({33, 17}, 1, true, 6);   // out = 1
  check_linear<T, 2>({29, 1}, 45, true, 7);   // in = 1
  check_linear<T, 2>({70, 64}, 48, false, 8);
  check_linear<T, 3>({2, 4, 16}, 8, false, 9);
  check_linear<T, 3>({3, 1, 5}, 6, true, 10);
  check_linear<T, 4>({2, 3, 4, 20}, 30, true, 11);  // the lecture's Linear(20, 30) on a rank-4 input
  check_linear<T, 5>({2, 1, 3, 2, 9}, 5, true, 12);
}

TEMPLATE_TEST_CASE("linear: zero leading positions and zero input features", "[linear]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  check_linear<T, 2>({0, 8}, 5, true, 21);
  check_linear<T, 3>({2, 0, 5}, 3, true, 22);
  check_linear<T, 2>({3, 0}, 4, true, 23);   // in = 0: y = bias, grad_weight empty
  check_linear<T, 2>({3, 0}, 4, false, 24);  // y = 0
  check_linear<T, 1>({0}, 2, true, 25);
  // The exact values: empty y, zero grad_weight and grad_bias.
  const Tensor<T, 2> x({0, 8}), dy({0, 5});
  const auto w = random_tensor<T, 2>({5, 8}, 26);
  const auto b = random_tensor<T, 1>({5}, 27);
  CHECK(tessel::linear(x, w, b).shape() == (Shape<2>{0, 5}));
  const auto g = tessel::linear_backward(dy, x, w, true);
  CHECK(g.grad_input.shape() == (Shape<2>{0, 8}));
  CHECK(all_equal_to(g.grad_weight, tessel::from_float<T>(0.0f)));
  REQUIRE(g.grad_bias);
  CHECK(all_equal_to(*g.grad_bias, tessel::from_float<T>(0.0f)));
}

// A sum whose two roundings would differ from its one: (1 + 2^-4)^2 + 2^-9 in bfloat16 is
// 1.1328125 when rounded once, 1.125 when the product is rounded before the bias is added
// (its exact value 1.12890625 is a tie that goes to even); in float16 (1 + 2^-5)(1 + 2^-6)
// + 2^-13 likewise.
TEMPLATE_TEST_CASE("linear: the bias is added before the single rounding", "[linear]", tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  const bool bf = std::is_same_v<T, tessel::bfloat16>;
  const double xv = bf ? 1.0625 : 1.03125, wv = bf ? 1.0625 : 1.015625, bv = bf ? std::ldexp(1.0, -9) : std::ldexp(1.0, -13);
  const double once = bf ? 1.1328125 : 1.046875 + std::ldexp(1.0, -10);
  REQUIRE(to_double(from_double<T>(xv * wv)) != once);  // rounding the product first would miss it
  SettingsGuard guard;
  for (std::int64_t in : {1, 3}) {        // in = 1: the strided loops; 3: the engine
    for (std::int64_t rows : {1, 40}) {
      Tensor<T, 2> x({rows, in}), w({17, in});
      Tensor<T, 1> b({17});
      for (std::int64_t r = 0; r < rows; ++r) x(r, 0) = from_double<T>(xv);
      for (std::int64_t o = 0; o < 17; ++o) w(o, 0) = from_double<T>(wv), b(o) = from_double<T>(bv);
      for (tessel::Isa isa : available_isas()) {
        tessel::set_isa(isa);
        CAPTURE(in, rows, tessel::active_isa());
        CHECK(all_equal_to(tessel::linear(x, w, b), from_double<T>(once)));
        CHECK(all_equal_to(tessel::linear(x.view().select(0, 0), w, b), from_double<T>(once)));
      }
    }
  }
}

TEMPLATE_TEST_CASE("linear: invalid arguments throw shape_error before writing", "[linear][errors]", float,
                   tessel::bfloat16) {
  using T = TestType;
  using Catch::Matchers::Contains;
  const auto x = random_tensor<T, 3>({2, 5, 7}, 1);
  const auto w = random_tensor<T, 2>({3, 7}, 2);
  const auto w_bad = random_tensor<T, 2>({3, 8}, 3);
  const auto b = random_tensor<T, 1>({3}, 4);
  const auto b_bad = random_tensor<T, 1>({4}, 5);
  CHECK_THAT(error_of([&] { (void)tessel::linear(x, w_bad, b); }),
             Contains("linear: weight has shape [3, 8] but x [2, 5, 7] needs weight.size(1) == 7 (weight is "
                      "[out_features, in_features])"));
  CHECK_THAT(error_of([&] { (void)tessel::linear(x, w, b_bad); }),
             Contains("linear: bias has shape [4] but weight [3, 7] needs a bias of shape [3]"));
  Tensor<T, 3> y({2, 5, 4});
  fill(y, sentinel<T>());
  CHECK_THAT(error_of([&] { tessel::linear_into(x, w, b, y); }),
             Contains("linear_into: y has shape [2, 5, 4] but x and weight give [2, 5, 3]"));
  CHECK(all_equal_to(y, sentinel<T>()));
  Tensor<T, 3> big({2, 5, 7});
  const auto alias = big.view().narrow(2, 0, 3);
  CHECK_THAT(error_of([&] { tessel::linear_into(big, w, b, alias); }), Contains("overlaps the memory of x"));
  Tensor<T, 1> row({3});
  CHECK_THAT(error_of([&] { tessel::linear_into(x, w, b, row.view().expand(2, 5, 3)); }),
             Contains("has elements that share memory"));
  Tensor<T, 1> bias_out({3});
  CHECK_THAT(error_of([&] { tessel::linear_into(x.view().select(0, 0).select(0, 0), w, bias_out, bias_out); }),
             Contains("overlaps the memory of bias"));
  const auto dy_bad = random_tensor<T, 3>({2, 4, 3}, 6);
  CHECK_THAT(error_of([&] { (void)tessel::linear_backward(dy_bad, x, w, true); }),
             Contains("linear_backward: grad_output has shape [2, 4, 3] but x and weight give y of shape [2, 5, 3]"));
  CHECK_THAT(error_of([&] { (void)tessel::linear_backward(dy_bad, x, w_bad, true); }),
             Contains("linear_backward: weight has shape [3, 8] but x [2, 5, 7] needs weight.size(1) == 7"));
  CHECK_THAT(error_of([&] { tessel::Linear<T>(w, b_bad); }), Contains("Linear: bias has shape [4]"));
  CHECK_THAT(error_of([&] { tessel::Linear<T>(-1, 3); }), Contains("must not be negative"));
}

TEST_CASE("linear: the deducing forms", "[linear]") {
  const auto x = random_tensor<float, 3>({2, 5, 7}, 1);
  const auto w = random_tensor<float, 2>({3, 7}, 2);
  const auto b = random_tensor<float, 1>({3}, 3);
  const Tensor<float, 3> y = tessel::linear<float, 3>(x.view(), w.view(), b.view());
  const Tensor<float, 3> y0 = tessel::linear<float, 3>(x.view(), w.view());
  Tensor<float, 3> xm = x;
  TensorView<float, 3> xv = xm.view();
  std::optional<TensorView<const float, 1>> ob = b.view();
  CHECK(same_bits(tessel::linear(x, w, b), y));
  CHECK(same_bits(tessel::linear(xv, w.view(), b.view()), y));
  CHECK(same_bits(tessel::linear(x, w, ob), y));
  CHECK(same_bits(tessel::linear(x, w), y0));
  CHECK(same_bits(tessel::linear(x, w, std::nullopt), y0));
  CHECK(same_bits(tessel::linear(x.view().reshape(10, 7), w, b).view().reshape(2, 5, 3).clone(), y));
  Tensor<float, 3> out({2, 5, 3});
  tessel::linear_into(x, w, b, out);
  CHECK(same_bits(out, y));
  tessel::linear_into(xv, w, std::nullopt, out.view());
  CHECK(same_bits(out, y0));
  const auto dy = random_tensor<float, 3>({2, 5, 3}, 4);
  const auto g1 = tessel::linear_backward(dy, x, w, true);
  const auto g2 = tessel::linear_backward<float, 3>(dy.view(), x.view(), w.view(), true);
  CHECK(same_bits(g1.grad_input, g2.grad_input));
  CHECK(same_bits(g1.grad_weight, g2.grad_weight));
  CHECK(same_bits(*g1.grad_bias, *g2.grad_bias));
  // Mismatched element types or ranks do not compile.
  using F3 = Tensor<float, 3>;
  using F2 = Tensor<float, 2>;
  using F1 = Tensor<float, 1>;
  static_assert(LinearCall<F3, F2> && LinearCall<F3, F2, F1> && LinearCall<TensorView<float, 1>, F2>);
  static_assert(!LinearCall<F3, Tensor<tessel::bfloat16, 2>>);
  static_assert(!LinearCall<F3, F1>);
  static_assert(!LinearCall<F3, F2, F2>);
  static_assert(!LinearCall<F3, F2, Tensor<tessel::bfloat16, 1>>);
  static_assert(!LinearCall<Tensor<float, 0>, F2>);
}

TEMPLATE_TEST_CASE("linear: each call allocates its outputs and nothing else", "[linear][memory]", float,
                   tessel::bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  tessel::set_num_threads(1);  // packing buffers exist after one warm-up call
  const auto x = random_tensor<T, 3>({4, 30, 64}, 1);
  const auto w = random_tensor<T, 2>({48, 64}, 2);
  const auto b = random_tensor<T, 1>({48}, 3);
  const auto dy = random_tensor<T, 3>({4, 30, 48}, 4);
  Tensor<T, 3> y({4, 30, 48});
  auto allocations = [](auto&& call) {
    call();
    tessel::reset_memory_stats();
    call();
    return tessel::memory_stats().allocations;
  };
  CHECK(allocations([&] { (void)tessel::linear(x, w, b); }) == 1);
  CHECK(allocations([&] { tessel::linear_into(x, w, b, y); }) == 0);
  CHECK(allocations([&] { tessel::linear_into(x.view().transpose(0, 1), w, b, y.view().transpose(0, 1)); }) == 0);
  CHECK(allocations([&] { (void)tessel::linear_backward(dy, x, w, true); }) == 3);
  CHECK(allocations([&] { (void)tessel::linear_backward(dy, x, w, false); }) == 2);
}

TEMPLATE_TEST_CASE("linear: 1 and 2 threads give the same bits", "[linear][threads]", float, tessel::bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  const auto x = random_tensor<T, 3>({4, 100, 96}, 1);
  const auto w = random_tensor<T, 2>({80, 96}, 2);
  const auto b = random_tensor<T, 1>({80}, 3);
  const auto dy = random_tensor<T, 3>({4, 100, 80}, 4);
  for (tessel::Isa isa : available_isas()) {
    tessel::set_isa(isa);
    CAPTURE(tessel::active_isa());
    tessel::set_num_threads(1);
    const auto y1 = tessel::linear(x, w, b);
    const auto g1 = tessel::linear_backward(dy, x, w, true);
    tessel::set_num_threads(2);
    const auto g2 = tessel::linear_backward(dy, x, w, true);
    CHECK(same_bits(tessel::linear(x, w, b), y1));
    CHECK(same_bits(g1.grad_input, g2.grad_input));
    CHECK(same_bits(g1.grad_weight, g2.grad_weight));
    CHECK(same_bits(*g1.grad_bias, *g2.grad_bias));
  }
}

TEMPLATE_TEST_CASE("Linear: nn.Linear's initialisation, forward and backward", "[linear][layer]", float,
                   tessel::float16, tessel::bfloat16) {
  using T = TestType;
  const tessel::Linear<T> layer(20, 30, true, 7);
  CHECK(layer.in_features() == 20);
  CHECK(layer.out_features() == 30);
  REQUIRE(layer.weight.shape() == (Shape<2>{30, 20}));
  REQUIRE(layer.bias);
  REQUIRE(layer.bias->shape() == (Shape<1>{30}));
  // U(-1/sqrt(in), 1/sqrt(in)): every value inside (the bound rounded to T), spread over it.
  const double bound = to_double(from_double<T>(1.0 / std::sqrt(20.0)));
  double lo = 1, hi = -1, sum = 0;
  for (std::int64_t i = 0; i < layer.weight.numel(); ++i) {
    const double v = to_double(layer.weight.data()[i]);
    CHECK(std::fabs(v) <= bound);
    lo = std::min(lo, v), hi = std::max(hi, v), sum += v;
  }
  CHECK(lo < -0.9 * bound);
  CHECK(hi > 0.9 * bound);
  CHECK(std::fabs(sum / 600.0) < 0.1 * bound);  // the mean of 600 uniform draws: within ~4 sigma
  for (std::int64_t i = 0; i < 30; ++i) CHECK(std::fabs(to_double(layer.bias->data()[i])) <= bound);
  // A seed fixes the parameters.
  const tessel::Linear<T> same(20, 30, true, 7), other(20, 30, true, 8);
  CHECK(same_bits(layer.weight, same.weight));
  CHECK(same_bits(*layer.bias, *same.bias));
  CHECK(!same_bits(layer.weight, other.weight));
  CHECK(!tessel::Linear<T>(20, 30, false).bias);
  const tessel::Linear<T> no_inputs(0, 4);
  CHECK(all_equal_to(*no_inputs.bias, tessel::from_float<T>(0.0f)));
  // forward and backward are linear and linear_backward with the layer's parameters.
  const auto x = random_tensor<T, 4>({2, 3, 4, 20}, 9);
  const auto dy = random_tensor<T, 4>({2, 3, 4, 30}, 10);
  CHECK(same_bits(layer.forward(x), tessel::linear(x, layer.weight, *layer.bias)));
  const auto g = layer.backward(dy, x);
  const auto h = tessel::linear_backward(dy, x, layer.weight, true);
  CHECK(same_bits(g.grad_input, h.grad_input));
  CHECK(same_bits(g.grad_weight, h.grad_weight));
  CHECK(same_bits(*g.grad_bias, *h.grad_bias));
  // The layer can hold given parameters.
  const tessel::Linear<T> held(layer.weight, layer.bias);
  CHECK(same_bits(held.forward(x), layer.forward(x)));
}
