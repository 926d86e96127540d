// Tests of tessel/core/error.hpp and of how the core types report misuse (SPEC §5): one
// exception type, derived from std::invalid_argument, whose message names the function,
// the argument and the shapes.
#include <catch2/catch.hpp>

#include <tessel/core/error.hpp>
#include <tessel/core/tensor.hpp>
#include <tessel/core/tensor_view.hpp>
#include <tessel/ops/selection.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using tessel::Shape;
using tessel::shape_error;
using tessel::Tensor;
using tessel::TensorView;

namespace {

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const shape_error& e) {
    return e.what();
  }
  return "(no exception)";
}

// A message part that counts how often it is formatted.
struct Costly {
  int* formatted;
};
std::ostream& operator<<(std::ostream& os, const Costly& c) {
  ++*c.formatted;
  return os << "costly";
}

}  // namespace

TEST_CASE("errors: shape_error is a std::invalid_argument", "[errors]") {
  STATIC_REQUIRE(std::is_base_of_v<std::invalid_argument, shape_error>);
  STATIC_REQUIRE(std::is_base_of_v<std::logic_error, shape_error>);
  std::vector<float> buf(6);
  const TensorView<float, 2> v(buf.data(), {2, 3});
  CHECK_THROWS_AS(v.view(4, 2), std::invalid_argument);  // generic handlers catch it
  CHECK_THROWS_AS(v.view(4, 2), std::exception);
  try {
    (void)v.view(4, 2);
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(dynamic_cast<const shape_error*>(&e) != nullptr);
  }
}

TEST_CASE("errors: the check helper formats function, parts and shapes", "[errors]") {
  const Shape<3> a1{2, 5, 128};
  const Shape<2> w1{96, 64};
  // The example message of SPEC §5, built the way the ops build theirs.
  CHECK(message_of([&] {
          tessel::detail::check(w1[0] == a1[2], "matmul_with_multi_head", "W1 has shape ", w1, " but A1 ", a1,
                                " needs W1.size(0) == ", a1[2]);
        }) == "matmul_with_multi_head: W1 has shape [96, 64] but A1 [2, 5, 128] needs W1.size(0) == 128");
  CHECK(message_of([] { tessel::detail::fail("f", std::vector<std::int64_t>{}, " and ", Shape<1>{0}); }) ==
        "f: [] and [0]");
  CHECK(message_of([] { tessel::detail::fail("g", std::vector<std::int64_t>{-1, 3}); }) == "g: [-1, 3]");
  CHECK(tessel::detail::shape_string(std::array<int, 4>{1, 2, 3, 4}) == "[1, 2, 3, 4]");

  // Parts are only formatted when the check fails.
  int formatted = 0;
  tessel::detail::check(true, "h", Costly{&formatted});
  CHECK(formatted == 0);
  CHECK_THROWS_WITH(tessel::detail::check(false, "h", Costly{&formatted}), "h: costly");
  CHECK(formatted == 1);
}

TEST_CASE("errors: messages of the core operations name function, argument and shapes", "[errors]") {
  std::vector<float> buf(24);
  const TensorView<float, 3> x(buf.data(), {2, 3, 4});

  CHECK_THAT(message_of([&] { (void)x.view(5, -1); }),
             StartsWith("view: ") && Contains("[5, -1]") && Contains("[2, 3, 4]"));
  CHECK_THAT(message_of([&] { (void)x.transpose(0, 1).view(24); }),
             StartsWith("view: ") && Contains("[3, 2, 4]") && Contains("[4, 12, 1]") && Contains("[24]"));
  CHECK_THAT(message_of([&] { (void)x.reshape(5, 5); }), StartsWith("reshape: ") && Contains("[5, 5]"));
  CHECK_THAT(message_of([&] { (void)x.select(1, 3); }),
             StartsWith("select: ") && Contains("index 3") && Contains("[2, 3, 4]"));
  CHECK_THAT(message_of([&] { (void)x.narrow(2, 1, 4); }),
             StartsWith("narrow: ") && Contains("[2, 3, 4]"));
  CHECK_THAT(message_of([&] { (void)x.permute(0, 2, 2); }), StartsWith("permute: ") && Contains("[0, 2, 2]"));
  CHECK_THAT(message_of([&] { (void)x.transpose(3, 0); }),
             StartsWith("transpose: ") && Contains("dimension 3") && Contains("rank 3"));
  CHECK_THAT(message_of([&] { (void)x.expand(3, 3, 4); }),
             StartsWith("expand: ") && Contains("[2, 3, 4]") && Contains("[3, 3, 4]"));
  CHECK_THAT(message_of([&] { (void)x.split(std::vector<std::int64_t>{2, 3}, -1); }),
             StartsWith("split: ") && Contains("[2, 3]") && Contains("[2, 3, 4]"));
  CHECK_THAT(message_of([&] { (void)x.size(-4); }), Contains("-4") && Contains("rank 3"));
  CHECK_THAT(message_of([&] { Tensor<float, 2> t({3, -2}); }), StartsWith("Tensor: ") && Contains("[3, -2]"));
  CHECK_THAT(message_of([&] { TensorView<float, 2> v(buf.data(), {-1, 2}); }),
             StartsWith("TensorView: ") && Contains("[-1, 2]"));
  std::vector<float> other(5);
  CHECK_THAT(message_of([&] { TensorView<float, 1>(other.data(), {5}).copy_(x.select(0, 0).select(0, 0)); }),
             StartsWith("copy_: ") && Contains("[4]") && Contains("[5]"));
}

TEST_CASE("errors: invalid calls write nothing", "[errors]") {
  std::vector<float> dst(6, 7.0f), src(5, 1.0f);
  const TensorView<float, 2> d(dst.data(), {2, 3});
  CHECK_THROWS_AS(d.copy_(TensorView<float, 1>(src.data(), {5})), shape_error);
  for (float v : dst) CHECK(v == 7.0f);
  CHECK_THROWS_AS(d.select(0, 0).expand(4, 3).copy_(d), shape_error);  // overlapping destination
  for (float v : dst) CHECK(v == 7.0f);
}

TEST_CASE("errors: at() is always checked", "[errors]") {
  std::vector<float> buf(6);
  const TensorView<float, 2> v(buf.data(), {2, 3});
  CHECK_NOTHROW(v.at(1, 2));
  CHECK(&v.at(1, 2) == buf.data() + 5);
  CHECK_THAT(message_of([&] { (void)v.at(2, 0); }), StartsWith("at: ") && Contains("[2, 0]") &&
                                                        Contains("[2, 3]"));
  CHECK_THROWS_AS(v.at(0, 3), shape_error);
  CHECK_THROWS_AS(v.at(-1, 0), shape_error);
  CHECK_THROWS_AS(v.transpose(0, 1).at(0, 2), shape_error);
  const TensorView<float, 2> empty(buf.data(), {0, 3});
  CHECK_THROWS_AS(empty.at(0, 0), shape_error);
}

TEST_CASE("errors: operator() is checked in debug builds", "[errors]") {
#ifdef TESSEL_DEBUG_BOUNDS
  std::vector<float> buf(6);
  const TensorView<float, 2> v(buf.data(), {2, 3});
  CHECK_THROWS_AS(v(2, 0), shape_error);
  CHECK_THROWS_AS(v(0, -1), shape_error);
  CHECK_THROWS_AS(v.narrow(1, 1, 1)(0, 1), shape_error);
  Tensor<float, 2> t({2, 2});
  CHECK_THROWS_AS(t(0, 2), shape_error);
  const Tensor<float, 2>& ct = t;
  CHECK_THROWS_AS(ct(2, 0), shape_error);
  CHECK_NOTHROW(t(1, 1));
#else
  // Release builds (NDEBUG, or TESSEL_NO_DEBUG_BOUNDS) leave operator() unchecked by design;
  // at() stays checked (see the test above).
  SUCCEED("operator() is unchecked in this build");
#endif
}

TEST_CASE("errors: sizes that overflow are refused with the shape named", "[errors][overflow]") {
  constexpr std::int64_t g31 = std::int64_t{1} << 31, g32 = std::int64_t{1} << 32, g40 = std::int64_t{1} << 40,
                         g62 = std::int64_t{1} << 62;
  // 2^62 floats are 2^64 bytes, 2^62 bfloat16 one byte more than an object can span.
  CHECK_THAT(message_of([&] { Tensor<float, 1> t({g62}); }),
             StartsWith("Tensor: ") && Contains("[4611686018427387904]") && Contains("bytes"));
  CHECK_THAT(message_of([&] { Tensor<tessel::bfloat16, 1> t({g62}); }), StartsWith("Tensor: ") && Contains("bytes"));
  CHECK_THAT(message_of([&] { Tensor<float, 2> t({g32, g32}); }),
             StartsWith("Tensor: ") && Contains("[4294967296, 4294967296]") && Contains("more elements"));
  // A zero size does not hide sizes whose product overflows (b·s of such a shape would wrap).
  CHECK_THAT(message_of([&] { Tensor<float, 3> t({0, g40, g40}); }), StartsWith("Tensor: ") && Contains("[0, "));
  CHECK_NOTHROW(Tensor<float, 3>({0, g31, g31}));

  float one = 1.0f;
  const TensorView<float, 2> scalar(&one, {1, 1});
  CHECK_THAT(message_of([&] { (void)scalar.expand(g32, g32); }),
             StartsWith("expand: ") && Contains("[4294967296, 4294967296]"));
  CHECK_THAT(message_of([&] { (void)TensorView<float, 2>(&one, {g32, g32}, {0, 0}); }),
             StartsWith("TensorView: ") && Contains("[4294967296, 4294967296]"));
  // A contiguous view of 2^62 floats would span 2^64 bytes; strides can reach too far too.
  CHECK_THAT(message_of([&] { (void)TensorView<float, 1>(&one, {g62}); }),
             StartsWith("TensorView: ") && Contains("spans more bytes"));
  CHECK_THAT(message_of([&] { (void)TensorView<float, 2>(&one, {2, 2}, {g62, 1}); }),
             StartsWith("TensorView: ") && Contains("[4611686018427387904, 1]"));
  const auto empty = scalar.expand(0, 1);
  CHECK_THAT(message_of([&] { (void)empty.view(g40, g40, 0); }),
             StartsWith("view: ") && Contains("[1099511627776, 1099511627776, 0]"));
  CHECK_THAT(message_of([&] { (void)empty.reshape(g40, -1, g40); }), StartsWith("reshape: "));
  std::vector<float> buf(4);
  const TensorView<float, 1> four(buf.data(), {4});
  const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  CHECK_THAT(message_of([&] { (void)four.split(std::vector<std::int64_t>{huge, huge, 6}); }),
             StartsWith("split: ") && Contains("add up to more than"));
}

TEST_CASE("errors: select_important_into names itself and leaves `selected` alone on an error", "[errors]") {
  std::vector<float> p(6, 0.5f);
  const TensorView<const float, 2> P(p.data(), {2, 3});
  std::vector<std::int64_t> selected{42};
  tessel::ImportanceOptions bad_p;
  bad_p.top_p = 1.5;
  CHECK_THAT(message_of([&] { tessel::select_important_into(P, bad_p, selected); }),
             StartsWith("select_important_into: ") && Contains("top_p"));
  tessel::ImportanceOptions bad_k;
  bad_k.top_k = 4;
  CHECK_THAT(message_of([&] { tessel::select_important_into(P, bad_k, selected); }),
             StartsWith("select_important_into: ") && Contains("top_k") && Contains("[1, 3]"));
  CHECK(selected == std::vector<std::int64_t>{42});
  CHECK_THAT(message_of([&] { (void)tessel::select_important(P, bad_k); }),
             StartsWith("select_important: ") && Contains("top_k"));
}

TEST_CASE("errors: view messages name the operation that failed and the tensor's real rank", "[errors][view]") {
  std::vector<float> buf(6);
  const TensorView<float, 2> x(buf.data(), {2, 3});
  // copy_ from a source that does not broadcast names copy_ and both shapes (not expand).
  const std::string copy = message_of([&] { x.copy_(TensorView<float, 1>(buf.data(), {4})); });
  CHECK_THAT(copy, StartsWith("copy_: ") && Contains("[4]") && Contains("[2, 3]") && !Contains("expand"));
  // unsqueeze(5) of a 2-D view: rank 2 (not 3, the rank of the result), positions [-3, 2].
  const std::string unsq = message_of([&] { (void)x.unsqueeze(5); });
  CHECK_THAT(unsq, StartsWith("unsqueeze: ") && Contains("5") && Contains("rank 2") && Contains("[2, 3]") &&
                       Contains("[-3, 2]") && !Contains("rank 3"));
  // A 0-d tensor: transpose may name dimension 0 or -1, as in PyTorch.
  const TensorView<float, 0> s(buf.data() + 4, Shape<0>{});
  CHECK(s.transpose(0, 0).data() == buf.data() + 4);
  CHECK(s.transpose(-1, 0).data() == buf.data() + 4);
  CHECK(s.transpose(0, -1).data() == buf.data() + 4);
  CHECK_THAT(message_of([&] { (void)s.transpose(1, 0); }), StartsWith("transpose: ") && Contains("[-1, 0]"));
  CHECK_THAT(message_of([&] { (void)s.size(0); }), StartsWith("size: ") && Contains("rank 0"));
  CHECK(s.unsqueeze(-1).shape() == Shape<1>{1});
  CHECK_THAT(message_of([&] { (void)s.unsqueeze(1); }), StartsWith("unsqueeze: ") && Contains("[-1, 0]"));
  // Tensor's operations report the same way.
  Tensor<float, 3> t({2, 3, 4});
  CHECK_THAT(message_of([&] { (void)t.transpose(0, 3); }), StartsWith("transpose: ") && Contains("[2, 3, 4]"));
  CHECK_THAT(message_of([&] { (void)t.view(5, -1); }), StartsWith("view: ") && Contains("[5, -1]"));
  CHECK_THAT(message_of([&] { (void)Tensor<float, 2>({2, 2}).reshape(3, 3); }), StartsWith("reshape: "));
  CHECK_THAT(message_of([&] { (void)t.item(); }), StartsWith("item: ") && Contains("24"));
}
