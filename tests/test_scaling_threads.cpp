// Results do not depend on the thread count even where many threads make plan_gemm cut the
// work into finer units (gemm/partition.hpp): the ops of the SPEC workloads, scaled down,
// on every path and dtype, with set_num_threads values far beyond this machine's cores
// (OpenMP then runs that many threads on the cores there are), must give the bits of one
// thread. The case first checks that those thread counts really make the plan finer, so it
// tests the finer split and not only the usual one.
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/paths.hpp"
#include "support/reference.hpp"

#include <tessel/tessel.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using tessel::bfloat16;
using tessel::float16;
using tessel::Tensor;
using tessel_test::PathScope;
using tessel_test::random_tensor;
using tessel_test::same_bits;
using tessel_test::test_paths;
using tessel_test::TestPath;
using tessel_test::dense;
using tessel_test::judge;
using tessel_test::ref_matmul;

// A multi-head problem of b·s = 768 rows, h = 256 (4 heads of 64), e = 384: about 150 MFLOP,
// enough for 37 threads at the engine's kFlopsPerThread.
constexpr std::int64_t kB = 3, kS = 256, kH = 256, kNh = 4, kE = 384;
const int kThreadCounts[] = {1, 2, 5, 16, 48};

// Everything the ops compute on one set of inputs, flattened to compare bit for bit.
template <class T>
struct Outputs {
  Tensor<T, 4> o2;
  Tensor<T, 3> o3, da1;
  Tensor<T, 2> dw1, square;
  Tensor<T, 3> y, dx;
  Tensor<T, 2> dw;
  Tensor<T, 4> scores;
};

template <class T>
Outputs<T> run_all(int threads) {
  tessel::set_num_threads(threads);
  const auto A1 = random_tensor<T, 3>({kB, kS, kH}, 501);
  const auto W1 = random_tensor<T, 2>({kH, kE}, 502);
  const auto P = random_tensor<T, 2>({kB, kS}, 503, 0.0, 1.0);
  Outputs<T> out;
  out.o2 = tessel::matmul_with_multi_head(A1, W1, kNh);
  // Importance with about half the rows (top_p = 0.5), forward and backward.
  auto sel = tessel::select_important(P, {.top_p = 0.5, .top_k = std::nullopt});
  const auto t = static_cast<std::int64_t>(sel.size());
  const auto dO3 = random_tensor<T, 3>({t, kNh, kE}, 504);
  auto r = tessel::matmul_with_importance(A1, W1, P, kNh, {.top_p = 0.5, .top_k = std::nullopt}, dO3);
  out.o3 = std::move(r.output);
  out.da1 = std::move(*r.grad_input);
  out.dw1 = std::move(*r.grad_weight);
  // A square product, linear forward and backward, attention scores through einsum.
  const auto S = random_tensor<T, 2>({600, 600}, 505);
  out.square = tessel::matmul(S, S);
  const auto x = random_tensor<T, 3>({2, 384, 320}, 506);
  const auto w = random_tensor<T, 2>({288, 320}, 507);
  const auto bias = random_tensor<T, 1>({288}, 508);
  out.y = tessel::linear(x, w, bias);
  const auto dy = random_tensor<T, 3>({2, 384, 288}, 509);
  auto g = tessel::linear_backward(dy, x, w, false);
  out.dx = std::move(g.grad_input);
  out.dw = std::move(g.grad_weight);
  const auto q = random_tensor<T, 4>({2, 4, 256, 64}, 510);
  const auto k = random_tensor<T, 4>({2, 4, 256, 64}, 511);
  out.scores = tessel::einsum<"bhqd,bhkd->bhqk">(q, k);
  return out;
}

template <class T>
void check_same(const Outputs<T>& a, const Outputs<T>& b) {
  CHECK(same_bits(a.o2, b.o2));
  CHECK(same_bits(a.o3, b.o3));
  CHECK(same_bits(a.da1, b.da1));
  CHECK(same_bits(a.dw1, b.dw1));
  CHECK(same_bits(a.square, b.square));
  CHECK(same_bits(a.y, b.y));
  CHECK(same_bits(a.dx, b.dx));
  CHECK(same_bits(a.dw, b.dw));
  CHECK(same_bits(a.scores, b.scores));
}

}  // namespace

TEMPLATE_TEST_CASE("scaling: many threads cut finer units and give the bits of one thread", "[scaling][threads]", float,
                   float16, bfloat16) {
  using T = TestType;
  using namespace tessel::detail;
  // The multi-head product as the engine sees it: with 48 threads available every kernel
  // configuration plans finer units than with one (so the runs below take the finer split).
  GemmProblem<T> p;
  p.batch = kNh, p.m = kB * kS, p.n = kE, p.k = kH / kNh;
  int configs = 0;
  for_each_kernel_config<T>([&]<class Config>() {
    ++configs;
    const GemmPlan one = plan_for<Config>(p, tessel::cpu_features(), 1);
    const GemmPlan many = plan_for<Config>(p, tessel::cpu_features(), 48);
    INFO("kernel " << Config::Kernel::MR << "x" << Config::Kernel::NR << ": " << one.units << " units on 1 thread, "
                   << many.units << " on 48");
    CHECK(many.units > one.units);
    CHECK(many.bk.kc == one.bk.kc);
    CHECK(many.bk.k_blocks == one.bk.k_blocks);
  });
  CHECK(configs >= 1);
  for (const TestPath& path : test_paths<T>()) {
    PathScope use(path);
    const Outputs<T> one = run_all<T>(1);
    for (int threads : kThreadCounts) {
      if (threads == 1) continue;
      INFO(path.name << ", " << threads << " threads");
      check_same(one, run_all<T>(threads));
    }
  }
}

TEMPLATE_TEST_CASE("scaling: a C wider than one column block is right on every path", "[scaling][gemm]", float, float16,
                   bfloat16) {
  // The finer split gives many units whose first column is not 0; so does a C wider than
  // one cache block (nc) on one thread. AVX-512's spread stores once wrote every column
  // block at column 0. n = 3000 is several column blocks on every path and cache size.
  using T = TestType;
  const auto A = random_tensor<T, 2>({100, 700}, 601);
  const auto B = random_tensor<T, 2>({700, 3000}, 602);
  for (const TestPath& path : test_paths<T>()) {
    PathScope use(path);
    INFO(path.name);
    tessel::set_num_threads(1);
    const auto C = tessel::matmul(A, B);
    CHECK_VERDICT(judge(C, ref_matmul(dense(A), dense(B))));
  }
}
