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

enum Layout : unsigned {
  kPlain = 0,
  kTransA = 1,      // A stored k-major (column-major)
  kTransB = 2,      // B stored n-major
  kGatherRows = 4,  // A rows (and hence C rows) picked by an index list from a taller A
  kGatherK = 8,     // k picked by an index list from a deeper A and B
  kScatterC = 16,   // C rows written through an index list into a taller C
  kAccumulate = 32,
  kMerged = 64,     // A rows are a merged [outer, inner] pair whose strides do not merge
  kStrided = 128,   // non-unit element strides on every operand
  kSharedB = 256,   // B batch stride 0 (one B for every batch)
};

std::string layout_name(unsigned l) {
  if (l == 0) return "plain";
  std::string s;
  const char* names[] = {"transA", "transB", "gatherRows", "gatherK", "scatterC", "accumulate", "merged", "strided", "sharedB"};
  for (int i = 0; i < 9; ++i)
    if (l & (1u << i)) s += std::string(s.empty() ? "" : "+") + names[i];
  return s;
}

template <class T>
double ulp_of(double x) {
  int man_bits, min_exp;  // fraction bits, exponent of the smallest normal
  if constexpr (std::is_same_v<T, float>) man_bits = 23, min_exp = -126;
  else if constexpr (std::is_same_v<T, float16>) man_bits = 10, min_exp = -14;
  else man_bits = 7, min_exp = -126;
  int e = 0;
  std::frexp(x, &e);  // x = f·2^e, f in [0.5, 1)
  e = std::max(e - 1, min_exp);
  return std::ldexp(1.0, e - man_bits);
}

template <class T>
std::uint32_t bits_of(T v) {
  if constexpr (std::is_same_v<T, float>) return std::bit_cast<std::uint32_t>(v);
  else return std::bit_cast<std::uint16_t>(v);
}

// One operand's storage and its two axes, built from a plain description.
struct AxisPlan {
  std::vector<std::int64_t> offsets;  // logical index -> element offset (the reference's view)
  std::vector<std::int64_t> index;    // the index list, when the axis has one
  Axis axis;
};

// A plain strided axis of `n` logical indices.
AxisPlan strided_axis(std::int64_t n, std::int64_t stride) {
  AxisPlan a;
  a.axis = Axis::strided(stride);
  for (std::int64_t i = 0; i < n; ++i) a.offsets.push_back(i * stride);
  return a;
}
// n indices picked (distinct, shuffled) from [0, source), then strided.
AxisPlan indexed_axis(std::int64_t n, std::int64_t source, std::int64_t stride, std::mt19937& rng) {
  AxisPlan a;
  std::vector<std::int64_t> all(static_cast<std::size_t>(source));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  a.index.assign(all.begin(), all.begin() + n);
  a.axis = Axis::strided(stride);
  for (std::int64_t i = 0; i < n; ++i) a.offsets.push_back(a.index[i] * stride);
  return a;
}
// i -> (i / inner)·outer_stride + (i % inner)·stride.
AxisPlan merged_axis(std::int64_t n, std::int64_t inner, std::int64_t stride, std::int64_t outer_stride) {
  AxisPlan a;
  a.axis = Axis{stride, inner, outer_stride, nullptr};
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t o = i / inner, r = i - o * inner;
    a.offsets.push_back(o * outer_stride + r * stride);
  }
  return a;
}

std::int64_t extent(const std::vector<std::int64_t>& offs) {
  std::int64_t e = 0;
  for (auto o : offs) e = std::max(e, o + 1);
  return e;
}

template <class T>
T random_value(std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  const float v = d(rng) * (rng() % 8 == 0 ? 8.0f : 1.0f);
  return tessel::from_float<T>(v);
}

struct Shape {
  std::int64_t batch, m, n, k;
};

// Runs one (isa, T, layout, shape) case; returns the C the engine wrote (for the thread check).
template <class T>
std::vector<T> run_case(Isa isa, unsigned layout, Shape s, int threads, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const bool strided = layout & kStrided;
  const std::int64_t es = strided ? 2 : 1;  // element stride of the "contiguous" axis
  const std::int64_t m = s.m, n = s.n, k = s.k;

  // --- k axis (shared by A cols and B rows), gathered or not ---
  const std::int64_t k_src = (layout & kGatherK) ? k + 5 : k;
  std::vector<std::int64_t> kidx;
  if (layout & kGatherK) {
    std::vector<std::int64_t> all(static_cast<std::size_t>(k_src));
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), rng);
    kidx.assign(all.begin(), all.begin() + k);
  } else {
    kidx.resize(static_cast<std::size_t>(k));
    std::iota(kidx.begin(), kidx.end(), 0);
  }
  auto k_axis = [&](std::int64_t stride) {
    AxisPlan a;
    a.axis = Axis::strided(stride);
    if (layout & kGatherK) a.index = kidx;
    for (std::int64_t p = 0; p < k; ++p) a.offsets.push_back(kidx[p] * stride);
    return a;
  };

  // --- A: m × k ---
  const std::int64_t m_src = (layout & kGatherRows) ? m + 7 : m;
  AxisPlan a_rows, a_cols;
  if (layout & kTransA) {
    a_rows = (layout & kGatherRows) ? indexed_axis(m, m_src, es, rng) : strided_axis(m, es);
    a_cols = k_axis(m_src * es + 3);
  } else {
    a_cols = k_axis(es);
    const std::int64_t lda = k_src * es + 3;
    if (layout & kMerged) {
      const std::int64_t inner = 5;  // rows (b, s) of a [b, s, h] input permuted so s is outer
      const std::int64_t outer = (m_src + inner - 1) / inner;
      a_rows = merged_axis(m, inner, lda * outer, lda);
    } else {
      a_rows = (layout & kGatherRows) ? indexed_axis(m, m_src, lda, rng) : strided_axis(m, lda);
    }
  }
  // --- B: k × n ---
  AxisPlan b_rows, b_cols;
  if (layout & kTransB) {
    b_rows = k_axis(es);
    b_cols = strided_axis(n, k_src * es + 1);
  } else {
    b_rows = k_axis(n * es + 2);
    b_cols = strided_axis(n, es);
  }
  // --- C: m × n ---
  const std::int64_t ldc = n * es + 4;
  const std::int64_t mc_src = (layout & kScatterC) ? m + 6 : m;
  AxisPlan c_rows = (layout & kScatterC) ? indexed_axis(m, mc_src, ldc, rng) : strided_axis(m, ldc);
  AxisPlan c_cols = strided_axis(n, es);

  const std::int64_t a_size = extent(a_rows.offsets) + extent(a_cols.offsets) + 1;
  const std::int64_t b_size = extent(b_rows.offsets) + extent(b_cols.offsets) + 1;
  const std::int64_t c_size = mc_src * ldc + 1;
  const std::int64_t a_bs = a_size, b_bs = (layout & kSharedB) ? 0 : b_size, c_bs = c_size;

  std::vector<T> A(static_cast<std::size_t>(a_size * s.batch)), B(static_cast<std::size_t>(b_size * s.batch));
  for (auto& v : A) v = random_value<T>(rng);
  for (auto& v : B) v = random_value<T>(rng);
  std::vector<T> C(static_cast<std::size_t>(c_size * s.batch));
  const T sentinel = tessel::from_float<T>(-777.0f);
  for (auto& v : C) v = (layout & kAccumulate) ? random_value<T>(rng) : sentinel;
  const std::vector<T> C0 = C;

  GemmProblem<T> p;
  p.batch = s.batch, p.m = m, p.n = n, p.k = k;
  auto with_index = [](AxisPlan& ap) {
    if (!ap.index.empty()) ap.axis.index = ap.index.data();
    return ap.axis;
  };
  p.a = {A.data(), a_bs, with_index(a_rows), with_index(a_cols)};
  p.b = {B.data(), b_bs, with_index(b_rows), with_index(b_cols)};
  p.c = {C.data(), c_bs, with_index(c_rows), with_index(c_cols)};
  p.accumulate = layout & kAccumulate;
  p.threads = threads;
  tessel::detail::gemm_on(isa, p);

  // --- the reference ---
  std::vector<char> written(C.size(), 0);
  std::int64_t bad = 0;
  for (std::int64_t g = 0; g < s.batch; ++g) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double ref = 0, mag = 0;
        for (std::int64_t q = 0; q < k; ++q) {
          const double x = static_cast<double>(static_cast<float>(A[g * a_bs + a_rows.offsets[i] + a_cols.offsets[q]]));
          const double y = static_cast<double>(static_cast<float>(B[g * b_bs + b_rows.offsets[q] + b_cols.offsets[j]]));
          ref += x * y;
          mag += std::abs(x * y);
        }
        const std::int64_t ci = g * c_bs + c_rows.offsets[i] + c_cols.offsets[j];
        if (p.accumulate) {
          const double old = static_cast<double>(static_cast<float>(C0[ci]));
          ref += old;
          mag += std::abs(old);
        }
        written[ci] = 1;
        const double got = static_cast<double>(static_cast<float>(C[ci]));
        const double tol = ulp_of<T>(ref) + 2.0 * std::sqrt(double(k) + 1) * std::ldexp(mag, -24);
        if (!(std::abs(got - ref) <= tol)) {
          if (++bad <= 3)
            UNSCOPED_INFO("g=" << g << " i=" << i << " j=" << j << " got " << got << " ref " << ref << " tol " << tol);
        }
      }
    }
  }
  std::int64_t clobbered = 0;
  for (std::size_t x = 0; x < C.size(); ++x)
    if (!written[x] && bits_of(C[x]) != bits_of(C0[x])) ++clobbered;
  INFO("isa " << tessel::isa_name(isa) << " " << tessel::dtype_name<T>() << " " << layout_name(layout) << " batch "
              << s.batch << " m " << m << " n " << n << " k " << k << " threads " << threads);
  CHECK(bad == 0);
  CHECK(clobbered == 0);
  return C;
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
