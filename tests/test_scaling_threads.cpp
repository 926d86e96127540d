// A C wider than one cache block of columns must come out right on every path (AVX-512's
// spread stores once wrote every column block at column 0).
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/paths.hpp"
#include "support/reference.hpp"

#include <tessel/tessel.hpp>

using tessel::bfloat16;
using tessel::float16;
using tessel_test::dense;
using tessel_test::judge;
using tessel_test::PathScope;
using tessel_test::random_tensor;
using tessel_test::ref_matmul;
using tessel_test::test_paths;
using tessel_test::TestPath;

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
