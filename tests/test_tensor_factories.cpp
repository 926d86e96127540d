// Tests of core/factories.hpp, core/random.hpp and core/compare.hpp: zeros, ones, full, arange,
// randn (against the generator's definition recomputed in Python, tests/data/views/randn.txt,
// and against the normal distribution), allclose and equal (PyTorch's rules).
#include <catch2/catch.hpp>

#include <tessel/tessel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

using tessel::bfloat16;
using tessel::float16;
using tessel::Shape;
using tessel::shape_error;
using tessel::Tensor;

TEST_CASE("factories: zeros, ones, full in every spelling of a shape", "[tensor][factories]") {
  const auto a = tessel::zeros<bfloat16>({2, 3});
  STATIC_REQUIRE(std::is_same_v<std::remove_const_t<decltype(a)>, Tensor<bfloat16, 2>>);
  CHECK(a.shape() == Shape<2>{2, 3});
  for (std::int64_t i = 0; i < a.numel(); ++i) CHECK(a.data()[i].bits == 0);
  const auto b = tessel::ones(4, 5);  // float by default, like torch's default dtype
  STATIC_REQUIRE(std::is_same_v<std::remove_const_t<decltype(b)>, Tensor<float, 2>>);
  for (std::int64_t i = 0; i < b.numel(); ++i) CHECK(b.data()[i] == 1.0f);
  CHECK(tessel::ones<float16>(Shape<3>{1, 2, 3}).shape() == Shape<3>{1, 2, 3});
  CHECK(tessel::zeros(7).shape() == Shape<1>{7});
  CHECK(tessel::zeros(0, 3).numel() == 0);
  CHECK(tessel::zeros<float>(Shape<0>{}).numel() == 1);
  // full rounds the value once to the element type (from double, not through float).
  const double tricky = 1.0 + 1.0 / 2048 + 1.0 / (1 << 30);  // rounds up in float16 only if not via float
  const auto c = tessel::full<float16>({2, 2}, tricky);
  for (std::int64_t i = 0; i < 4; ++i) CHECK(c.data()[i].bits == float16(tricky).bits);
  CHECK(c.data()[0].bits != float16(float(tricky)).bits);  // through float it would tie and round down
  CHECK(tessel::full({3}, 2.5f).data()[2] == 2.5f);
  CHECK(tessel::full<bfloat16>({1}, float16(0.5f)).data()[0].bits == bfloat16(0.5f).bits);
  // *_like: x's shape, its element type unless another is asked for.
  const auto like = tessel::zeros_like(b.transpose(0, 1));
  CHECK(like.shape() == Shape<2>{5, 4});
  const auto like16 = tessel::ones_like<float16>(b);
  STATIC_REQUIRE(std::is_same_v<std::remove_const_t<decltype(like16)>, Tensor<float16, 2>>);
  CHECK(float(like16(3, 4)) == 1.0f);
  CHECK(tessel::full_like(b, -3)(0, 0) == -3.0f);
  CHECK_THROWS_AS(tessel::zeros(2, -1), shape_error);
  CHECK_THROWS_AS(tessel::full({-2}, 1.0), shape_error);
}

TEST_CASE("factories: arange follows torch.arange's sizes and values", "[tensor][factories]") {
  auto values = [](const Tensor<float, 1>& t) { return std::vector<float>(t.data(), t.data() + t.numel()); };
  CHECK(values(tessel::arange(5)) == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(values(tessel::arange(4.5)) == std::vector<float>{0, 1, 2, 3, 4});  // ceil(4.5) = 5 values
  CHECK(values(tessel::arange(1.0, 2.5, 0.5)) == std::vector<float>{1, 1.5, 2});
  CHECK(values(tessel::arange(5.0, 0.0, -1.5)) == std::vector<float>{5, 3.5, 2, 0.5});
  CHECK(tessel::arange(0.0, 1.0, 0.1).numel() == 10);  // ceil(1 / 0.1) in double is 10
  CHECK(tessel::arange(0.0, 0.0).numel() == 0);
  // Each value computed in double and rounded once: 0.1 * 3 in double, then to float.
  CHECK(tessel::arange(0.0, 1.0, 0.1)(3) == float(0.1 * 3));
  const auto h = tessel::arange<float16>(0.0, 1.0, 1.0 / 3);
  CHECK(h(2).bits == float16(2.0 / 3).bits);
  CHECK_THROWS_WITH(tessel::arange(0.0, 1.0, 0.0), Catch::Contains("arange") && Catch::Contains("step"));
  CHECK_THROWS_AS(tessel::arange(1.0, 0.0, 1.0), shape_error);
  CHECK_THROWS_AS(tessel::arange(0.0, 2.0, -1.0), shape_error);
  CHECK_THROWS_AS(tessel::arange(0.0, std::numeric_limits<double>::infinity()), shape_error);
}

TEST_CASE("randn: the generator's values are its definition's, bit for bit", "[tensor][random]") {
  // randn.txt was computed by tests/data/views/generate.py from the definition in core/random.hpp,
  // in Python's IEEE double arithmetic (no contraction, its own integer arithmetic): a compiler
  // or platform that changed any value would fail here.
  std::ifstream file(std::filesystem::path(__FILE__).parent_path() / "data" / "views" / "randn.txt");
  REQUIRE(file.good());
  std::string line;
  int seeds = 0;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string word;
    std::uint64_t seed = 0;
    std::size_t count = 0;
    head >> word >> seed >> count;
    REQUIRE(word == "seed");
    REQUIRE(std::getline(file, line));
    std::istringstream in(line);
    tessel::detail::NormalGenerator gen(seed);
    const auto as_float = tessel::randn<float>({std::int64_t(count)}, seed);
    const auto as_bf16 = tessel::randn<bfloat16>({std::int64_t(count)}, seed);
    for (std::size_t i = 0; i < count; ++i) {
      std::string hex;
      in >> hex;
      const double want = std::strtod(hex.c_str(), nullptr);
      const double got = gen.next_normal();
      INFO("seed " << seed << " sample " << i);
      REQUIRE(got == want);
      REQUIRE(as_float(std::int64_t(i)) == float(want));  // rounded once from the double
      REQUIRE(as_bf16(std::int64_t(i)).bits == bfloat16(want).bits);
    }
    ++seeds;
  }
  CHECK(seeds == 5);
  // The same seed gives the same tensor, another seed another one, any shape the same stream.
  CHECK(tessel::equal(tessel::randn({3, 4}, 11), tessel::randn({3, 4}, 11)));
  CHECK_FALSE(tessel::equal(tessel::randn({3, 4}, 11), tessel::randn({3, 4}, 12)));
  CHECK(tessel::equal(tessel::randn({3, 4}, 11).view(-1), tessel::randn({12}, 11)));
}

TEST_CASE("randn: the samples are standard normal", "[tensor][random]") {
  // Kolmogorov–Smirnov against Φ, and the first four moments, on 200 000 samples of two seeds.
  // At this size the KS statistic of a true N(0, 1) sample exceeds 1.95 / sqrt(n) with
  // probability 0.1 %; the moment bounds are about 5 standard errors.
  for (std::uint64_t seed : {3u, 2026u}) {
    const std::int64_t n = 200000;
    const auto t = tessel::randn<float>({n}, seed);
    std::vector<double> x(t.data(), t.data() + n);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (double v : x) {
      m1 += v;
      m2 += v * v;
      m3 += v * v * v;
      m4 += v * v * v * v;
    }
    m1 /= double(n), m2 /= double(n), m3 /= double(n), m4 /= double(n);
    INFO("seed " << seed << ": mean " << m1 << ", E[x^2] " << m2 << ", E[x^3] " << m3 << ", E[x^4] " << m4);
    CHECK(std::fabs(m1) < 5 * std::sqrt(1.0 / double(n)));
    CHECK(std::fabs(m2 - 1) < 5 * std::sqrt(2.0 / double(n)));
    CHECK(std::fabs(m3) < 5 * std::sqrt(15.0 / double(n)));
    CHECK(std::fabs(m4 - 3) < 5 * std::sqrt(96.0 / double(n)));
    std::sort(x.begin(), x.end());
    double ks = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double cdf = 0.5 * std::erfc(-x[std::size_t(i)] / std::sqrt(2.0));
      ks = std::max({ks, std::fabs(cdf - double(i) / double(n)), std::fabs(cdf - double(i + 1) / double(n))});
    }
    INFO("KS statistic " << ks);
    CHECK(ks < 1.95 / std::sqrt(double(n)));
    CHECK(x.front() < -3.5);  // the tails are there
    CHECK(x.back() > 3.5);
  }
}

TEST_CASE("allclose and equal: PyTorch's rules", "[tensor][compare]") {
  using tessel::allclose;
  using tessel::equal;
  const auto a = tessel::full({3}, 1.0);
  // |a - b| <= atol + rtol * |b|, with the tolerance scaled by the second argument.
  CHECK(allclose(tessel::full({3}, 100.0), tessel::full({3}, 100.0009765625)));  // 9.8e-4 <= 1e-8 + 1e-3
  CHECK_FALSE(allclose(tessel::full({3}, 100.0), tessel::full({3}, 100.001953125)));
  CHECK(allclose(tessel::full({1}, 0.0), tessel::full({1}, 1e-8)));  // atol alone
  CHECK_FALSE(allclose(tessel::full({1}, 0.0), tessel::full({1}, 1.5e-8)));
  CHECK(allclose(tessel::full({1}, 10.0), tessel::full({1}, 12.0), 0.19));       // 2 <= 0.19 * 12
  CHECK_FALSE(allclose(tessel::full({1}, 12.0), tessel::full({1}, 10.0), 0.19));  // 2 > 0.19 * 10
  CHECK(allclose(tessel::full({1}, 1.0), tessel::full({1}, 1.5), 0.0, 0.5));    // the boundary is close
  // NaN is close to nothing unless equal_nan; equal infinities are close, opposite ones not.
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  CHECK_FALSE(allclose(tessel::full({1}, nan), tessel::full({1}, nan)));
  CHECK(allclose(tessel::full({1}, nan), tessel::full({1}, nan), 1e-5, 1e-8, true));
  CHECK_FALSE(allclose(tessel::full({1}, nan), tessel::full({1}, 1.0), 1e-5, 1e-8, true));
  CHECK(allclose(tessel::full({1}, inf), tessel::full({1}, inf)));
  CHECK_FALSE(allclose(tessel::full({1}, inf), tessel::full({1}, -inf)));
  CHECK_FALSE(allclose(tessel::full({1}, inf), tessel::full({1}, 1e38f), 1.0, 1.0));
  // Broadcasting, strided views, mixed element types (compared as exact values).
  CHECK(allclose(tessel::ones(2, 3), a));
  CHECK(allclose(tessel::ones(2, 3).transpose(0, 1), tessel::ones(3, 1)));
  CHECK(allclose(tessel::full<bfloat16>({2}, 0.1), tessel::full({2}, 0.1), 0.004));
  CHECK_FALSE(allclose(tessel::full<bfloat16>({2}, 0.1), tessel::full({2}, 0.1)));
  CHECK_THROWS_WITH(allclose(tessel::ones(2, 3), tessel::ones(2)),
                    Catch::Contains("allclose") && Catch::Contains("[2, 3]") && Catch::Contains("[2]"));
  CHECK_THROWS_AS(allclose(a, a, -1.0), shape_error);
  CHECK_THROWS_AS(allclose(a, a, 1e-5, -1.0), shape_error);
  // equal: same shape and every element equal; no broadcasting, NaN unequal.
  CHECK(equal(tessel::arange(6).view(2, 3), tessel::arange(6).view(2, 3).contiguous()));
  CHECK_FALSE(equal(tessel::arange(6).view(2, 3), tessel::arange(6).view(3, 2)));
  CHECK_FALSE(equal(tessel::arange(6), tessel::arange(6).view(2, 3)));
  CHECK_FALSE(equal(tessel::ones(2, 3), a));
  CHECK_FALSE(equal(tessel::full({1}, nan), tessel::full({1}, nan)));
  CHECK(equal(tessel::full({1}, 0.0), tessel::full({1}, -0.0)));
  CHECK(equal(tessel::zeros(0, 2), tessel::zeros(0, 2)));
  auto b = tessel::arange(6);
  b(4) = 4.5f;
  CHECK_FALSE(equal(b, tessel::arange(6)));
}
