// The public matmul / matmul_into (torch.matmul's 2-D and batched shapes) against the fp64
// reference of tests/support/reference.hpp, for float, float16 and bfloat16: 2-D, batched
// 3-D (with a broadcast batch of 1 on either side), 3-D × 2-D, strided and transposed
// operands and outputs (same bits as contiguous copies), inputs unchanged, and errors.
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

using namespace tessel_test;
using tessel::Tensor;
using tessel::TensorView;

namespace {

template <class T, std::size_t R>
bool all_equal_to(TensorView<const T, R> v, T x) {
  const Dense d = dense(v);
  for (double y : d.v)
    if (!(y == to_double(x))) return false;
  return true;
}

}  // namespace

TEMPLATE_TEST_CASE("matmul 2-D against the fp64 reference", "[matmul]", float, float16, bfloat16) {
  using T = TestType;
  const std::vector<std::array<std::int64_t, 3>> shapes = {{1, 1, 1}, {3, 5, 7},    {17, 33, 9}, {64, 48, 80},
                                                           {5, 1, 6}, {1, 40, 1},   {31, 129, 2}, {70, 3, 65}};
  std::uint32_t seed = 1;
  for (auto [m, k, n] : shapes) {
    CAPTURE(m, k, n);
    const auto A = random_tensor<T, 2>({m, k}, seed++);
    const auto B = random_tensor<T, 2>({k, n}, seed++);
    const auto A0 = A, B0 = B;
    const auto C = tessel::matmul(A, B);
    CHECK(C.shape() == (tessel::Shape<2>{m, n}));
    CHECK_VERDICT(judge(C, ref_matmul(dense(A), dense(B))));
    CHECK(same_bits(A, A0));
    CHECK(same_bits(B, B0));
  }
}

TEMPLATE_TEST_CASE("matmul with k = 0 gives zeros, empty m or n gives empty outputs", "[matmul]", float, float16,
                   bfloat16) {
  using T = TestType;
  Tensor<T, 2> A({4, 0}), B({0, 3});
  const auto C = tessel::matmul(A, B);
  REQUIRE(C.shape() == (tessel::Shape<2>{4, 3}));
  for (std::int64_t i = 0; i < C.numel(); ++i) CHECK(to_double(C.data()[i]) == 0.0);
  Tensor<T, 2> A2({0, 5}), B2({5, 3});
  CHECK(tessel::matmul(A2, B2).shape() == (tessel::Shape<2>{0, 3}));
  Tensor<T, 3> A3({2, 3, 0}), B3({2, 0, 4});
  const auto C3 = tessel::matmul(A3, B3);
  REQUIRE(C3.shape() == (tessel::Shape<3>{2, 3, 4}));
  for (std::int64_t i = 0; i < C3.numel(); ++i) CHECK(to_double(C3.data()[i]) == 0.0);
}

TEMPLATE_TEST_CASE("matmul batched 3-D, broadcast batch of 1, and 3-D x 2-D", "[matmul]", float, float16, bfloat16) {
  using T = TestType;
  const tessel_test::TestPath path = GENERATE(from_range(tessel_test::test_paths<T>()));
  tessel_test::PathScope use(path);
  CAPTURE(path.name);
  struct Case {
    std::int64_t ga, gb, m, k, n;
  };
  const std::vector<Case> cases = {{3, 3, 5, 7, 9}, {1, 4, 6, 8, 5}, {4, 1, 6, 8, 5},
                                   {1, 1, 9, 17, 3}, {2, 2, 33, 20, 40}};
  std::uint32_t seed = 100;
  for (const auto& c : cases) {
    CAPTURE(c.ga, c.gb, c.m, c.k, c.n);
    const auto A = random_tensor<T, 3>({c.ga, c.m, c.k}, seed++);
    const auto B = random_tensor<T, 3>({c.gb, c.k, c.n}, seed++);
    const auto A0 = A, B0 = B;
    const auto C = tessel::matmul(A, B);
    CHECK(C.shape() == (tessel::Shape<3>{std::max(c.ga, c.gb), c.m, c.n}));
    CHECK_VERDICT(judge(C, ref_matmul(dense(A), dense(B))));
    CHECK(same_bits(A, A0));
    CHECK(same_bits(B, B0));
    // The broadcast batch behaves like an expanded operand.
    if (c.ga == 1 && c.gb > 1) {
      const auto Cx = tessel::matmul(A.view().expand(c.gb, -1, -1), B);
      CHECK(same_bits(C, Cx));
    }
  }
  // 3-D x 2-D: B shared by every batch.
  for (auto [g, m, k, n] : std::vector<std::array<std::int64_t, 4>>{{3, 5, 7, 9}, {1, 1, 4, 2}, {4, 30, 19, 21}}) {
    CAPTURE(g, m, k, n);
    const auto A = random_tensor<T, 3>({g, m, k}, seed++);
    const auto B = random_tensor<T, 2>({k, n}, seed++);
    const auto C = tessel::matmul(A, B);
    CHECK(C.shape() == (tessel::Shape<3>{g, m, n}));
    CHECK_VERDICT(judge(C, ref_matmul(dense(A), dense(B))));
    // The same as the batched form with B expanded.
    const auto Cb = tessel::matmul(A.view(), B.view().unsqueeze(0).expand(g, -1, -1));
    CHECK(same_bits(C, Cb));
  }
}

TEMPLATE_TEST_CASE("matmul: strided and transposed operands and outputs give the same bits", "[matmul]", float,
                   float16, bfloat16) {
  using T = TestType;
  const tessel_test::TestPath path = GENERATE(from_range(tessel_test::test_paths<T>()));
  tessel_test::PathScope use(path);
  CAPTURE(path.name);
  const std::int64_t m = 23, k = 37, n = 19, g = 3;
  // 2-D: A stored as [k, m] and transposed, B as [n, k] transposed, C written transposed.
  const auto At = random_tensor<T, 2>({k, m}, 7);
  const auto Bt = random_tensor<T, 2>({n, k}, 8);
  const auto A = At.view().transpose(0, 1);
  const auto B = Bt.view().transpose(0, 1);
  const auto expect = tessel::matmul(A.clone(), B.clone());
  CHECK_VERDICT(judge(expect, ref_matmul(dense(A), dense(B))));
  CHECK(same_bits(tessel::matmul(A, B), expect));
  CHECK(same_bits(tessel::matmul(A, B.clone()), expect));
  CHECK(same_bits(tessel::matmul(A.clone(), B), expect));
  {
    Tensor<T, 2> Cstore({n, m});
    tessel::matmul_into(A, B, Cstore.view().transpose(0, 1));
    CHECK(same_bits(Cstore.view().transpose(0, 1).clone(), expect));
  }
  {
    // C a column slice of a wider buffer: the columns around it keep their sentinel.
    Tensor<T, 2> wide({m, n + 5});
    for (std::int64_t i = 0; i < wide.numel(); ++i) wide.data()[i] = sentinel<T>();
    tessel::matmul_into(A, B, wide.view().narrow(1, 2, n));
    CHECK(same_bits(wide.view().narrow(1, 2, n).clone(), expect));
    CHECK(all_equal_to<T, 2>(wide.view().narrow(1, 0, 2), sentinel<T>()));
    CHECK(all_equal_to<T, 2>(wide.view().narrow(1, n + 2, 3), sentinel<T>()));
  }
  {
    // Sliced operands: every other row of A, a window of B's columns.
    const auto Abig = random_tensor<T, 2>({2 * m, k + 3}, 9);
    const auto As = Abig.view().view(m, 2, k + 3).select(1, 1).narrow(1, 3, k);
    const auto Bbig = random_tensor<T, 2>({k, n + 7}, 10);
    const auto Bs = Bbig.view().narrow(1, 4, n);
    CHECK(same_bits(tessel::matmul(As, Bs), tessel::matmul(As.clone(), Bs.clone())));
  }
  // 3-D: A permuted from [m, g, k], B from [g, n, k] transposed, C permuted [m, g, n].
  {
    const auto Amgk = random_tensor<T, 3>({m, g, k}, 11);
    const auto Bgnk = random_tensor<T, 3>({g, n, k}, 12);
    const auto A3 = Amgk.view().permute(1, 0, 2);
    const auto B3 = Bgnk.view().transpose(1, 2);
    const auto expect3 = tessel::matmul(A3.clone(), B3.clone());
    CHECK_VERDICT(judge(expect3, ref_matmul(dense(A3), dense(B3))));
    CHECK(same_bits(tessel::matmul(A3, B3), expect3));
    Tensor<T, 3> Cmgn({m, g, n});
    tessel::matmul_into(A3, B3, Cmgn.view().permute(1, 0, 2));
    CHECK(same_bits(Cmgn.view().permute(1, 0, 2).clone(), expect3));
    // 3-D x 2-D with a non-mergeable (permuted) A and a permuted C.
    const auto B2 = Bt.view().transpose(0, 1);  // [k, n]
    const auto expect32 = tessel::matmul(A3.clone(), B2.clone());
    CHECK_VERDICT(judge(expect32, ref_matmul(dense(A3), dense(B2))));
    CHECK(same_bits(tessel::matmul(A3, B2), expect32));
    Tensor<T, 3> C2({m, g, n});
    tessel::matmul_into(A3, B2, C2.view().permute(1, 0, 2));
    CHECK(same_bits(C2.view().permute(1, 0, 2).clone(), expect32));
  }
  // Inputs unchanged.
  CHECK(same_bits(At, random_tensor<T, 2>({k, m}, 7)));
  CHECK(same_bits(Bt, random_tensor<T, 2>({n, k}, 8)));
}

TEMPLATE_TEST_CASE("matmul_into writes the same bits as matmul", "[matmul]", float, float16, bfloat16) {
  using T = TestType;
  const auto A = random_tensor<T, 3>({2, 9, 14}, 21);
  const auto B = random_tensor<T, 3>({2, 14, 6}, 22);
  Tensor<T, 3> C({2, 9, 6});
  tessel::matmul_into(A, B, C);
  CHECK(same_bits(C, tessel::matmul(A, B)));
  const auto B2 = random_tensor<T, 2>({14, 6}, 23);
  tessel::matmul_into(A, B2, C.view());
  CHECK(same_bits(C, tessel::matmul(A, B2)));
  Tensor<T, 2> C2({9, 6});
  tessel::matmul_into(A.view().select(0, 1), B2, C2);
  CHECK(same_bits(C2, tessel::matmul(A.view().select(0, 1), B2.view())));
}

TEMPLATE_TEST_CASE("matmul: invalid arguments throw shape_error and write nothing", "[matmul][errors]", float,
                   float16, bfloat16) {
  using T = TestType;
  const auto A = random_tensor<T, 2>({4, 5}, 31);
  const auto B = random_tensor<T, 2>({6, 3}, 32);  // k mismatch
  auto msg = error_of([&] { (void)tessel::matmul(A, B); });
  CHECK_THAT(msg, Catch::Contains("matmul") && Catch::Contains("[4, 5]") && Catch::Contains("[6, 3]"));

  const auto B5 = random_tensor<T, 2>({5, 3}, 33);
  Tensor<T, 2> C({4, 4});  // wrong shape
  for (std::int64_t i = 0; i < C.numel(); ++i) C.data()[i] = sentinel<T>();
  msg = error_of([&] { tessel::matmul_into(A, B5, C); });
  CHECK_THAT(msg, Catch::Contains("matmul_into") && Catch::Contains("[4, 4]") && Catch::Contains("[4, 3]"));
  CHECK(all_equal_to<T, 2>(C.view(), sentinel<T>()));
  Tensor<T, 2> Cgood({4, 3});
  msg = error_of([&] { tessel::matmul_into(A, B, Cgood); });
  CHECK_THAT(msg, Catch::Contains("matmul_into"));

  // Batches that do not broadcast.
  const auto A3 = random_tensor<T, 3>({2, 4, 5}, 34);
  const auto B3 = random_tensor<T, 3>({3, 5, 2}, 35);
  msg = error_of([&] { (void)tessel::matmul(A3, B3); });
  CHECK_THAT(msg, Catch::Contains("matmul") && Catch::Contains("[2, 4, 5]") && Catch::Contains("[3, 5, 2]"));
  const auto B32 = random_tensor<T, 3>({2, 6, 2}, 36);
  msg = error_of([&] { (void)tessel::matmul(A3, B32); });
  CHECK_THAT(msg, Catch::Contains("[2, 6, 2]"));
  msg = error_of([&] { (void)tessel::matmul(A3, B); });
  CHECK_THAT(msg, Catch::Contains("[2, 4, 5]") && Catch::Contains("[6, 3]"));

  // Output overlapping an input: C is A's own memory (same shape).
  {
    Tensor<T, 2> sq = random_tensor<T, 2>({4, 4}, 37);
    const Tensor<T, 2> sq0 = sq;
    const auto Bsq = random_tensor<T, 2>({4, 4}, 38);
    msg = error_of([&] { tessel::matmul_into(sq.view(), Bsq.view(), sq.view()); });
    CHECK_THAT(msg, Catch::Contains("matmul_into") && Catch::Contains("overlap"));
    CHECK(same_bits(sq, sq0));
    msg = error_of([&] { tessel::matmul_into(Bsq.view(), sq.view(), sq.view().transpose(0, 1)); });
    CHECK_THAT(msg, Catch::Contains("overlap"));
    CHECK(same_bits(sq, sq0));
  }
  // Output overlapping an input partially (3-D), and an expanded (self-overlapping) output.
  {
    Tensor<T, 3> buf = random_tensor<T, 3>({3, 4, 5}, 39);
    const Tensor<T, 3> buf0 = buf;
    const auto W = random_tensor<T, 2>({5, 5}, 40);
    msg = error_of([&] { tessel::matmul_into(buf.view().narrow(0, 0, 2), W.view(), buf.view().narrow(0, 1, 2)); });
    CHECK_THAT(msg, Catch::Contains("matmul_into") && Catch::Contains("overlap"));
    CHECK(same_bits(buf, buf0));
    Tensor<T, 1> row({5});
    for (std::int64_t i = 0; i < 5; ++i) row.data()[i] = sentinel<T>();
    const auto A4 = random_tensor<T, 3>({2, 4, 5}, 41);
    msg = error_of([&] { tessel::matmul_into(A4.view(), W.view(), row.view().expand(2, 4, 5)); });
    CHECK_THAT(msg, Catch::Contains("matmul_into"));
    CHECK(all_equal_to<T, 1>(row.view(), sentinel<T>()));
  }
}

TEST_CASE("matmul deduces T from Tensors, non-const views and reshape()/contiguous() results", "[matmul]") {
  Tensor<float, 2> A = random_tensor<float, 2>({3, 4}, 51);
  Tensor<float, 2> B = random_tensor<float, 2>({4, 2}, 52);
  TensorView<float, 2> av = A.view();
  auto r = A.view().reshape(3, 4);
  auto c = B.view().transpose(0, 1).contiguous();  // a copy: [2, 4]
  const auto expect = tessel::matmul(A, B);
  CHECK(same_bits(tessel::matmul(av, B.view()), expect));
  CHECK(same_bits(tessel::matmul(r, B), expect));
  CHECK(same_bits(tessel::matmul(A, c.transpose(0, 1)), expect));
  Tensor<float, 2> C({3, 2});
  tessel::matmul_into(av, B, C);
  CHECK(same_bits(C, expect));
  TensorView<float, 2> cv = C.view();
  tessel::matmul_into(r, B.view(), cv);
  CHECK(same_bits(C, expect));
  auto A3 = A.view().reshape(1, 3, 4);
  const auto C3 = tessel::matmul(A3, B);
  CHECK(same_bits(C3.view().select(0, 0).clone(), expect));
}

TEMPLATE_TEST_CASE("matmul on every registered path", "[matmul][isa]", float, float16, bfloat16) {
  using T = TestType;
  const auto A = random_tensor<T, 3>({3, 21, 300}, 61);  // k = 300, and odd m, n
  const auto B = random_tensor<T, 3>({1, 300, 35}, 62);
  const Ref ref = ref_matmul(dense(A), dense(B));
  for (const tessel_test::TestPath& path : tessel_test::test_paths<T>()) {
    tessel_test::PathScope use(path);
    CAPTURE(path.name);
    REQUIRE(tessel::current_isa() == path.isa);
    CHECK_VERDICT(judge(tessel::matmul(A, B), ref));
    CHECK_VERDICT(judge(tessel::matmul(A.view().transpose(1, 2).clone().view().transpose(1, 2), B), ref));
  }
}

TEST_CASE("the tolerance helper rejects what it must", "[matmul][reference]") {
  // A reference with one product per element: x·1.
  Ref ref;
  ref.shape = {1, 4};
  ref.val = {1.0, 0.0, 3.0, -2.0};
  ref.mag = {1.0, 0.0, 3.0, 2.0};
  ref.K = 1;
  Tensor<bfloat16, 2> ok({1, 4});
  for (int j = 0; j < 4; ++j) ok(0, j) = bfloat16(ref.val[static_cast<std::size_t>(j)]);
  CHECK(judge(ok, ref).ok());
  auto bad = ok;
  bad(0, 2) = bfloat16(3.03125);  // two bfloat16 steps off (ulp(3) = 2^-6)
  CHECK_FALSE(judge(bad, ref).ok());
  bad = ok;
  bad(0, 1) = bfloat16(1e-30);  // an exact zero must stay exactly zero
  CHECK_FALSE(judge(bad, ref).ok());
  bad = ok;
  bad(0, 3) = bfloat16(std::numeric_limits<float>::quiet_NaN());
  CHECK_FALSE(judge(bad, ref).ok());
  Tensor<bfloat16, 2> wrong_shape({4, 1});
  CHECK_FALSE(judge(wrong_shape, ref).ok());
  // float: one ulp passes, three fail.
  Tensor<float, 2> f({1, 4});
  for (int j = 0; j < 4; ++j) f(0, j) = static_cast<float>(ref.val[static_cast<std::size_t>(j)]);
  f(0, 0) = std::nextafter(1.0f, 2.0f);
  CHECK(judge(f, ref).ok());
  f(0, 0) = 1.0f + 3 * std::ldexp(1.0f, -23);
  CHECK_FALSE(judge(f, ref).ok());
  // The selection reference rounds top_p to T: bfloat16(0.7) = 0.69921875, float16(0.7) = 0.7001953125.
  CHECK(round_to_grid<bfloat16>(0.7) == 0.69921875);
  CHECK(round_to_grid<float16>(0.7) == 0.7001953125);
  CHECK(round_to_grid<float>(0.7) == static_cast<double>(0.7f));
}
