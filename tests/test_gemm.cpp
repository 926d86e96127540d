// Tests of the engine (tessel/gemm/*): every registered path the CPU has (support/paths.hpp;
// always the scalar one) × dtype × operand layout × awkward sizes, each against an fp64 reference loop.
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
#include "support/paths.hpp"

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
using tessel_test::PathScope;
using tessel_test::test_paths;
using tessel_test::TestPath;

using tessel::bfloat16;
using tessel::float16;
using tessel::Isa;
using tessel::detail::Axis;
using tessel::detail::GemmProblem;

using tessel::available_isas;

// The register tile and the kc of the kernel a path runs for T (to aim sizes at the edges).
struct Tile {
  int mr, nr;
  std::int64_t kc;
};
template <class T = float>
Tile tile_of(Isa isa) {
  Tile t{};
  tessel::detail::visit_isa(isa, [&]<Isa I>() {
    using Config = typename tessel::detail::Path<I>::template config<T>;
    using K = typename Config::Kernel;
    // The kc a long k is cut into.
    const auto bk = tessel::detail::make_blocking(K::MR, K::NR, Config::limits, 512, 512, 1 << 16, tessel::cpu_features());
    t = Tile{K::MR, K::NR, bk.kc};
  });
  return t;
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
  for (const TestPath& path : test_paths<TestType>()) {
    SECTION(path.name) {
      PathScope use(path);
      sweep<TestType>(path.isa, all_layouts(), edge_shapes(tile_of<TestType>(path.isa)));
    }
  }
}

TEMPLATE_TEST_CASE("gemm: float16/bfloat16 inputs with a float output (the unrounded fp32 sums)", "[gemm]", float16,
                   bfloat16) {
  // Without the rounding to T the tolerance is fp32's: ulp_float(ref) + the accumulation bound.
  for (const TestPath& path : test_paths<TestType>()) {
    SECTION(path.name) {
      PathScope use(path);
      sweep<TestType, float>(path.isa, all_layouts(), edge_shapes(tile_of<TestType>(path.isa)));
      sweep<TestType, float>(path.isa, {kPlain, kTransA | kGatherK | kAccumulate, kBias | kScale},
                             {{2, 67, 131, 97}, {1, 45, 140, 700}});
    }
  }
}

TEMPLATE_TEST_CASE("gemm: primes and multi-block sizes", "[gemm]", float, float16, bfloat16) {
  const std::vector<Shape> shapes = {{2, 67, 131, 97}, {1, 257, 61, 211}, {3, 37, 263, 64}, {2, 45, 140, 700}};
  for (const TestPath& path : test_paths<TestType>())
    SECTION(path.name) {
      PathScope use(path);
      sweep<TestType>(path.isa,
                      {kPlain, kTransA | kGatherK, kTransB | kScatterC | kAccumulate, kMerged | kSharedB, kBias | kGroups},
                      shapes);
    }
}

TEMPLATE_TEST_CASE("gemm: one and two threads give the same bits", "[gemm][threads]", float, float16, bfloat16) {
  // Large enough that the engine really uses two threads (several work units, > 8 Mflop).
  const std::vector<Shape> shapes = {{2, 301, 203, 150}, {1, 515, 390, 70}};
  for (const TestPath& path : test_paths<TestType>()) {
    PathScope use(path);
    for (unsigned layout : {unsigned(kPlain), unsigned(kGatherRows | kGatherK | kAccumulate), unsigned(kTransA | kTransB),
                            unsigned(kBias | kGroups | kBatchGroups)}) {
      for (const Shape& s : shapes) {
        const auto one = run_case<TestType>(path.isa, layout, s, 1, 99);
        const auto two = run_case<TestType>(path.isa, layout, s, 2, 99);
        bool same = one.size() == two.size();
        for (std::size_t x = 0; same && x < one.size(); ++x) same = bits_of(one[x]) == bits_of(two[x]);
        INFO(path.name << " " << layout_name(layout) << " m " << s.m << " n " << s.n);
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
      p.a = {A.data(), Axis::strided(0), Axis::strided(k), Axis::strided(1)};
      p.b = {B.data(), Axis::strided(0), Axis::strided(n), Axis::strided(1)};
      p.c = {C.data(), Axis::strided(0), Axis::strided(n), Axis::strided(1)};
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

namespace {

// Runs p as given and transposed (Cᵀ = Bᵀ·Aᵀ) with one kernel configuration; returns both Cs.
template <class Config, class T>
std::pair<std::vector<T>, std::vector<T>> as_given_and_transposed(std::int64_t batch, std::int64_t m, std::int64_t n,
                                                                  std::int64_t k, bool trans_a, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> A(static_cast<std::size_t>(batch * m * k)), B(static_cast<std::size_t>(batch * k * n));
  for (auto& v : A) v = random_value<T>(rng);
  for (auto& v : B) v = random_value<T>(rng);
  std::vector<T> C1(static_cast<std::size_t>(batch * m * n)), C2(C1.size());
  GemmProblem<T> p;
  p.batch = batch, p.m = m, p.n = n, p.k = k;
  // A row-major, or stored k-major like A3ᵀ in dW1 = A3ᵀ·dO3.
  p.a = {A.data(), Axis::strided(m * k), trans_a ? Axis::strided(1) : Axis::strided(k), trans_a ? Axis::strided(m) : Axis::strided(1)};
  p.b = {B.data(), Axis::strided(k * n), Axis::strided(n), Axis::strided(1)};
  p.c = {C1.data(), Axis::strided(m * n), Axis::strided(n), Axis::strided(1)};
  tessel::detail::run_gemm_as_given<Config>(p);
  p.c.data = C2.data();
  tessel::detail::run_gemm_as_given<Config>(tessel::detail::transposed(p));
  return {C1, C2};
}

}  // namespace

TEMPLATE_TEST_CASE("gemm: a problem run transposed gives the same bits", "[gemm]", float, float16, bfloat16) {
  // run_gemm runs some problems as Cᵀ = Bᵀ·Aᵀ (transpose_pays); the products and their order
  // are the same either way, so the result must be too, to the bit, on every kernel.
  // dW-like shapes: a few rows, many columns, a long k (several k blocks on every path).
  struct S { std::int64_t batch, m, n, k; bool trans_a; };
  int kernels = 0;
  tessel::detail::for_each_kernel_config<TestType>([&]<class Config>() {
    ++kernels;
    using K = typename Config::Kernel;
    for (const S s : {S{2, 64, 150, 600, true}, S{1, 17, 3, 300, false}, S{1, 30, 95, 1100, true}}) {
      const auto [c1, c2] = as_given_and_transposed<Config, TestType>(s.batch, s.m, s.n, s.k, s.trans_a, 7);
      std::int64_t differ = 0;
      for (std::size_t x = 0; x < c1.size(); ++x) differ += bits_of(c1[x]) != bits_of(c2[x]);
      INFO(tessel::isa_name(K::isa) << " kernel " << K::MR << "x" << K::NR << (K::features.own_panels ? " (own panels)" : "")
                                    << " m " << s.m << " n " << s.n << " k " << s.k);
      CHECK(differ == 0);
    }
  });
  CHECK(kernels >= static_cast<int>(available_isas().size()));
}

TEST_CASE("gemm: which problems run transposed", "[gemm]") {
  using tessel::detail::transpose_pays;
  CHECK(transpose_pays(14, 32, 30, 1024, 2048));      // 30 rows: 71 % of 14-row tiles, 94 % of 32
  CHECK_FALSE(transpose_pays(14, 32, 1024, 30, 2048));  // its transpose: never both ways
  CHECK_FALSE(transpose_pays(14, 32, 64, 1024, 2048));  // dW1 of the multi-head workloads: 9 % only
  CHECK_FALSE(transpose_pays(14, 32, 4096, 128, 128));  // forward: short k
  CHECK_FALSE(transpose_pays(14, 32, 128, 128, 4096));  // no better fill
}

TEMPLATE_TEST_CASE("gemm: k blocks of B packed in pieces give exactly the sums, as B packed whole does", "[gemm]",
                   float, float16, bfloat16) {
  // A kernel with packs_b_in_pieces packs every k block of a B with rows contiguous along n
  // but the first in pieces, between the tiles of the block before it, into the kept block
  // (keep_b: several row blocks) or into the other of two block buffers (one row block): both
  // plans are taken here, with A
  // row-major (packed panel by panel) and stored k-major (packed as a block, its lines fetched
  // with the pieces'). Small integers make every sum exact in fp32, so C must be the rounded
  // exact result, and bit for bit what the same B stored column-major (packed whole) gives.
  using T = TestType;
  using tessel::detail::plan_as_given;
  const std::int64_t n = 300;  // several B panels
  int kernels = 0;
  tessel::detail::for_each_kernel_config<T>([&]<class Config>() {
    using K = typename Config::Kernel;
    if constexpr (K::features.packs_b_in_pieces) {
      ++kernels;
      auto problem = [&](std::int64_t m, std::int64_t k, const T* a, bool trans_a, const T* b, bool trans_b, T* c) {
        GemmProblem<T> p;
        p.m = m, p.n = n, p.k = k;
        p.a = {a, Axis::strided(0), trans_a ? Axis::strided(1) : Axis::strided(k), trans_a ? Axis::strided(m) : Axis::strided(1)};
        p.b = {b, Axis::strided(0), trans_b ? Axis::strided(1) : Axis::strided(n), trans_b ? Axis::strided(k) : Axis::strided(1)};
        p.c = {c, Axis::strided(0), Axis::strided(n), Axis::strided(1)};
        return p;
      };
      // Several k blocks; one row block (a short panel: not kept), or a few more rows than a
      // row block holds (kept).
      const auto cpu = tessel::cpu_features();
      const std::int64_t k = tile_of<T>(K::isa).kc * 3 + 5;
      const std::int64_t row_block = plan_as_given<Config>(problem(4096, k, nullptr, false, nullptr, false, nullptr), cpu, 1).bk.mc;
      for (const std::int64_t m : {std::int64_t{9}, row_block + 9}) {
        const auto plan = plan_as_given<Config>(problem(m, k, nullptr, false, nullptr, false, nullptr), cpu, 1);
        REQUIRE(plan.bk.k_blocks > 1);
        CHECK(plan.keep_b == (m > 9));
        std::vector<T> A(static_cast<std::size_t>(m * k)), At(A.size()), B(static_cast<std::size_t>(k * n)), Bt(B.size());
        std::vector<float> a(A.size()), bv(B.size());
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t q = 0; q < k; ++q) {
            a[i * k + q] = float(int((i * 7 + q * 3) % 7) - 3);
            A[i * k + q] = At[q * m + i] = tessel::from_float<T>(a[i * k + q]);
          }
        for (std::int64_t q = 0; q < k; ++q)
          for (std::int64_t j = 0; j < n; ++j) {
            bv[q * n + j] = float(int((q * 5 + j) % 5) - 2);
            B[q * n + j] = Bt[j * k + q] = tessel::from_float<T>(bv[q * n + j]);
          }
        for (const bool trans_a : {false, true}) {
          std::vector<T> C(static_cast<std::size_t>(m * n)), Cw(C.size());
          tessel::detail::run_gemm_as_given<Config>(problem(m, k, trans_a ? At.data() : A.data(), trans_a, B.data(), false, C.data()));
          tessel::detail::run_gemm_as_given<Config>(problem(m, k, trans_a ? At.data() : A.data(), trans_a, Bt.data(), true, Cw.data()));
          std::int64_t wrong = 0, differ = 0;
          for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) {
              double r = 0;
              for (std::int64_t q = 0; q < k; ++q) r += double(a[i * k + q]) * bv[q * n + j];
              const std::size_t x = static_cast<std::size_t>(i * n + j);
              wrong += bits_of(C[x]) != bits_of(tessel::from_float<T>(float(r)));
              differ += bits_of(C[x]) != bits_of(Cw[x]);
            }
          INFO(tessel::isa_name(K::isa) << " kernel " << K::MR << "x" << K::NR << (K::features.own_panels ? " (own panels)" : "")
                                        << " m " << m << " k " << k << (plan.keep_b ? " (kept)" : " (two buffers)")
                                        << (trans_a ? ", A k-major" : ", A row-major"));
          CHECK(wrong == 0);
          CHECK(differ == 0);
        }
      }
    }
  });
  if (kernels == 0) WARN("no kernel on this CPU packs B in pieces for " << tessel::dtype_name<T>() << ": nothing checked");
}
