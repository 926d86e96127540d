// Tests of the engine (tessel/gemm/*): every ISA path the CPU has (always the scalar one)
// × dtype × operand layout × awkward sizes, each against an fp64 reference loop.
//
// The reference computes every operand address from its own offset tables (built here from
// the layout description, sharing no code with Axis::offset), sums in double, and accepts
//     |ours − ref| ≤ ulp_T(ref) + 2·sqrt(k)·2^-24·Σ|a·b|          (per element)
// i.e. one unit in the last place of the output type (one rounding of the result) plus the
// error bound of an fp32 accumulation. Elements of C outside the written set (strided gaps,
// rows a scatter does not select) must keep their sentinel. Two threads must give the same
// bits as one.
#include <catch2/catch.hpp>

#include "support/gemm_harness.hpp"

#include <tessel/gemm/blocking.hpp>
#include <tessel/gemm/gemm.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using namespace tessel_test_gemm;

using tessel::bfloat16;
using tessel::float16;
using tessel::Isa;
using tessel::detail::Axis;
using tessel::detail::GemmProblem;

using tessel::available_isas;

// The register tile and the kc of the kernel a path uses (to aim sizes at the edges).
struct Tile {
  int mr, nr;
  std::int64_t kc;
};
Tile tile_of(Isa isa) {
  using namespace tessel::detail;
  int mr = ScalarKernel::MR, nr = ScalarKernel::NR;
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (isa == Isa::avx512) mr = Avx512Kernel::MR, nr = Avx512Kernel::NR;
  if (isa == Isa::avx2) mr = Avx2Kernel::MR, nr = Avx2Kernel::NR;
#endif
  // The kc a long k is cut into.
  const auto bk = make_blocking(mr, nr, 512, 512, 1 << 16, tessel::cpu_features());
  return {mr, nr, bk.kc};
}


template <class T>
void sweep(Isa isa, const std::vector<unsigned>& layouts, const std::vector<Shape>& shapes) {
  std::uint32_t seed = 1;
  for (unsigned l : layouts)
    for (const Shape& s : shapes) run_case<T>(isa, l, s, 1, seed++);
}

std::vector<unsigned> all_layouts() {
  return {kPlain,       kTransA,          kTransB,          kGatherRows,         kGatherK,
          kScatterC,    kAccumulate,      kMerged,          kStrided,            kTransA | kTransB | kStrided,
          kGatherRows | kGatherK | kScatterC | kAccumulate, kMerged | kGatherK | kStrided | kAccumulate,
          kTransA | kGatherRows | kScatterC, kTransB | kGatherK | kSharedB, kStrided | kSharedB | kAccumulate};
}

// Sizes aimed at the tile and block edges of the path.
std::vector<Shape> edge_shapes(Tile t) {
  const std::int64_t mr = t.mr, nr = t.nr, kc = t.kc;
  return {{1, 1, 1, 1},         {1, mr - 1, nr + 1, 7},  {1, mr + 1, nr - 1, 13},     {2, mr, nr, 1},
          {1, 2 * mr + 3, 2 * nr + 5, 31}, {1, 1, 37, kc + 1},  {1, 17, 3, kc - 1},  {1, mr + 2, nr + 3, 2 * kc + 1},
          {3, 11, 19, 29},     {1, 0, 5, 4},            {1, 5, 0, 4},                {2, 6, 9, 0}};
}

}  // namespace

TEMPLATE_TEST_CASE("gemm: every path, layout and edge size against fp64", "[gemm]", float, float16, bfloat16) {
  for (Isa isa : available_isas()) {
    const Tile t = tile_of(isa);
    SECTION(std::string(tessel::isa_name(isa))) { sweep<TestType>(isa, all_layouts(), edge_shapes(t)); }
  }
}

TEMPLATE_TEST_CASE("gemm: primes and multi-block sizes", "[gemm]", float, float16, bfloat16) {
  const std::vector<Shape> shapes = {{2, 67, 131, 97}, {1, 257, 61, 211}, {3, 37, 263, 64}};
  for (Isa isa : available_isas())
    SECTION(std::string(tessel::isa_name(isa))) {
      sweep<TestType>(isa, {kPlain, kTransA | kGatherK, kTransB | kScatterC | kAccumulate, kMerged | kSharedB}, shapes);
    }
}

TEMPLATE_TEST_CASE("gemm: one and two threads give the same bits", "[gemm][threads]", float, float16, bfloat16) {
  // Large enough that the engine really uses two threads (several work units, > 8 Mflop).
  const std::vector<Shape> shapes = {{2, 301, 203, 150}, {1, 515, 390, 70}};
  for (Isa isa : available_isas()) {
    for (unsigned layout : {unsigned(kPlain), unsigned(kGatherRows | kGatherK | kAccumulate), unsigned(kTransA | kTransB)}) {
      for (const Shape& s : shapes) {
        const auto one = run_case<TestType>(isa, layout, s, 1, 99);
        const auto two = run_case<TestType>(isa, layout, s, 2, 99);
        bool same = one.size() == two.size();
        for (std::size_t x = 0; same && x < one.size(); ++x) same = bits_of(one[x]) == bits_of(two[x]);
        INFO("isa " << tessel::isa_name(isa) << " " << layout_name(layout) << " m " << s.m << " n " << s.n);
        CHECK(same);
      }
    }
  }
}

TEST_CASE("gemm: every path gives the same bits as itself across block-size edges of k", "[gemm]") {
  // Every path sums k in increasing order in fp32, so a product exact in fp32 (small
  // integers) must give exactly the reference on every path.
  for (Isa isa : available_isas()) {
    const Tile t = tile_of(isa);
    for (std::int64_t k : {std::int64_t{1}, t.kc - 1, t.kc, t.kc + 1, 3 * t.kc + 2}) {
      const std::int64_t m = t.mr + 3, n = t.nr + 5;
      std::vector<float> A(m * k), B(k * n), C(m * n, -1.0f);
      for (std::int64_t x = 0; x < m * k; ++x) A[x] = float(int(x % 7) - 3);
      for (std::int64_t x = 0; x < k * n; ++x) B[x] = float(int(x % 5) - 2);
      GemmProblem<float> p;
      p.m = m, p.n = n, p.k = k;
      p.a = {A.data(), 0, Axis::strided(k), Axis::strided(1)};
      p.b = {B.data(), 0, Axis::strided(n), Axis::strided(1)};
      p.c = {C.data(), 0, Axis::strided(n), Axis::strided(1)};
      tessel::detail::gemm_on(isa, p);
      std::int64_t bad = 0;
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double r = 0;
          for (std::int64_t q = 0; q < k; ++q) r += double(A[i * k + q]) * B[q * n + j];
          bad += C[i * n + j] != float(r);
        }
      INFO("isa " << tessel::isa_name(isa) << " k " << k);
      CHECK(bad == 0);
    }
  }
}

TEMPLATE_TEST_CASE("gemm: large sweep", "[gemm][long]", float, float16, bfloat16) {
  std::vector<Shape> shapes;
  for (std::int64_t m : {1, 13, 14, 15, 29, 100, 333})
    for (std::int64_t n : {1, 15, 16, 17, 31, 33, 65, 200})
      for (std::int64_t k : {1, 2, 63, 64, 65, 129, 300, 700}) shapes.push_back({1, m, n, k});
  for (Isa isa : available_isas())
    SECTION(std::string(tessel::isa_name(isa))) { sweep<TestType>(isa, all_layouts(), shapes); }
}
