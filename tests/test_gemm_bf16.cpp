// Tests of the AVX512-BF16 route for bfloat16 GEMM (gemm/kernel_avx512_bf16.hpp): the
// vdpbf16ps kernel and its own paired-bfloat16 packing, forced with set_bf16_route(dpbf16),
// against an fp64 reference with the engine's strict tolerance
//     |ours − ref| ≤ ulp_bf16(ref) + 2·sqrt(k)·2^-24·Σ|a·b|          (per element)
// over every operand layout, odd k, k = 1, k = 0, m/n at the MR/NR edges and kc ± 1, plus
// 1-vs-2-thread bit identity, the route choice itself and its guard against tiny inputs.
// Runs only where the CPU has AVX512_BF16 (and the AVX-512 path); elsewhere each case just
// succeeds.
//
// The reference and layouts are the ones of tests/test_gemm.cpp (copied, so the two files
// stay independent).
#include <catch2/catch.hpp>

#include <tessel/gemm/blocking.hpp>
#include <tessel/gemm/gemm.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
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


using tessel::detail::Avx512Bf16Kernel;
using tessel::detail::Bf16Route;

bool have_dpbf16() { return tessel::detail::dpbf16_available(); }

// Forces a route for the scope of a test, then goes back to the automatic choice.
struct RouteGuard {
  explicit RouteGuard(Bf16Route r) { tessel::detail::set_bf16_route(r); }
  ~RouteGuard() { tessel::detail::set_bf16_route(Bf16Route::automatic); }  // back to the environment's
};

std::int64_t kc_of() {
  return tessel::detail::make_blocking(Avx512Bf16Kernel::MR, Avx512Bf16Kernel::NR, 512, 512, 1 << 16,
                                       tessel::cpu_features()).kc;
}

void sweep(const std::vector<unsigned>& layouts, const std::vector<Shape>& shapes) {
  std::uint32_t seed = 1;
  for (unsigned l : layouts)
    for (const Shape& s : shapes) run_case<bfloat16>(Isa::avx512, l, s, 1, seed++);
}

std::vector<unsigned> all_layouts() {
  return {kPlain,       kTransA,          kTransB,          kGatherRows,         kGatherK,
          kScatterC,    kAccumulate,      kMerged,          kStrided,            kTransA | kTransB | kStrided,
          kGatherRows | kGatherK | kScatterC | kAccumulate, kMerged | kGatherK | kStrided | kAccumulate,
          kTransA | kGatherRows | kScatterC, kTransB | kGatherK | kSharedB, kStrided | kSharedB | kAccumulate,
          kTransA | kGatherK,  kTransB | kStrided};
}

std::vector<Shape> edge_shapes() {
  const std::int64_t mr = Avx512Bf16Kernel::MR, nr = Avx512Bf16Kernel::NR, kc = kc_of();
  return {{1, 1, 1, 1},        {1, mr - 1, nr + 1, 7},  {1, mr + 1, nr - 1, 13},  {2, mr, nr, 1},
          {1, mr, nr, 2},      {1, mr, nr, 3},          {1, 2 * mr + 3, 2 * nr + 5, 31},
          {1, 1, 37, kc + 1},  {1, 17, 3, kc - 1},      {1, mr + 2, nr + 3, 2 * kc + 1},
          {1, mr - 1, 16, kc}, {1, 3, 17, 2 * kc - 1},  {3, 11, 19, 29},          {1, 0, 5, 4},
          {1, 5, 0, 4},        {2, 6, 9, 0},            {1, 2 * mr, 15, 64},      {1, mr + 1, 2 * nr + 1, 33}};
}

}  // namespace

TEST_CASE("gemm bf16 (vdpbf16ps): every layout and edge size against fp64", "[gemm][bf16]") {
  if (!have_dpbf16()) {
    SUCCEED("the CPU lacks AVX512_BF16: nothing to test");
    return;
  }
  RouteGuard route(Bf16Route::dpbf16);
  REQUIRE(tessel::detail::bf16_route() == Bf16Route::dpbf16);
  sweep(all_layouts(), edge_shapes());
}

TEST_CASE("gemm bf16 (vdpbf16ps): primes and multi-block sizes", "[gemm][bf16]") {
  if (!have_dpbf16()) {
    SUCCEED("the CPU lacks AVX512_BF16: nothing to test");
    return;
  }
  RouteGuard route(Bf16Route::dpbf16);
  const std::vector<Shape> shapes = {{2, 67, 131, 97}, {1, 257, 61, 211}, {3, 37, 263, 64}, {1, 45, 70, 1001}};
  sweep({kPlain, kTransA | kGatherK, kTransB | kScatterC | kAccumulate, kMerged | kSharedB, kGatherRows | kStrided},
        shapes);
}

TEST_CASE("gemm bf16 (vdpbf16ps): one and two threads give the same bits", "[gemm][bf16][threads]") {
  if (!have_dpbf16()) {
    SUCCEED("the CPU lacks AVX512_BF16: nothing to test");
    return;
  }
  RouteGuard route(Bf16Route::dpbf16);
  const std::vector<Shape> shapes = {{2, 301, 203, 150}, {1, 515, 390, 71}, {1, 97, 150, 700}};
  for (unsigned layout : {unsigned(kPlain), unsigned(kGatherRows | kGatherK | kAccumulate), unsigned(kTransA | kTransB)}) {
    for (const Shape& s : shapes) {
      const auto one = run_case<bfloat16>(Isa::avx512, layout, s, 1, 99);
      const auto two = run_case<bfloat16>(Isa::avx512, layout, s, 2, 99);
      bool same = one.size() == two.size();
      for (std::size_t x = 0; same && x < one.size(); ++x) same = bits_of(one[x]) == bits_of(two[x]);
      INFO(layout_name(layout) << " m " << s.m << " n " << s.n << " k " << s.k);
      CHECK(same);
    }
  }
}

TEST_CASE("gemm bf16: small-integer products are exact on both routes", "[gemm][bf16]") {
  // Products and sums of small integers are exact in fp32, whatever the order: both routes
  // must give exactly the reference, across kc edges and odd k.
  const std::int64_t kc = kc_of();
  std::vector<Bf16Route> routes{Bf16Route::fma};
  if (have_dpbf16()) routes.push_back(Bf16Route::dpbf16);
  for (Bf16Route r : routes) {
    RouteGuard route(r);
    for (std::int64_t k : {std::int64_t{1}, std::int64_t{2}, std::int64_t{3}, kc - 1, kc, kc + 1, 3 * kc + 2}) {
      const std::int64_t m = Avx512Bf16Kernel::MR + 3, n = Avx512Bf16Kernel::NR + 5;
      std::vector<bfloat16> A(m * k), B(k * n), C(m * n, bfloat16(-1.0f));
      for (std::int64_t x = 0; x < m * k; ++x) A[x] = bfloat16(float(int(x % 7) - 3));
      for (std::int64_t x = 0; x < k * n; ++x) B[x] = bfloat16(float(int(x % 5) - 2));
      GemmProblem<bfloat16> p;
      p.m = m, p.n = n, p.k = k;
      p.a = {A.data(), 0, Axis::strided(k), Axis::strided(1)};
      p.b = {B.data(), 0, Axis::strided(n), Axis::strided(1)};
      p.c = {C.data(), 0, Axis::strided(n), Axis::strided(1)};
      tessel::detail::gemm_on(tessel::cpu_features().best_isa(), p);
      std::int64_t bad = 0;
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
          double ref = 0;
          for (std::int64_t q = 0; q < k; ++q) ref += double(float(A[i * k + q])) * double(float(B[q * n + j]));
          bad += float(C[i * n + j]) != float(bfloat16(ref));
        }
      INFO("route " << int(r) << " k " << k);
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("gemm bf16: the fma route still passes the layouts when forced", "[gemm][bf16]") {
  if (!tessel::cpu_features().has_avx512_path()) {
    SUCCEED("no AVX-512 path");
    return;
  }
  RouteGuard route(Bf16Route::fma);
  REQUIRE(tessel::detail::bf16_route() == Bf16Route::fma);
  sweep({kPlain, kTransA, kTransB, kGatherK | kScatterC | kAccumulate}, edge_shapes());
}

TEST_CASE("gemm bf16: the route choice", "[gemm][bf16]") {
  using tessel::detail::set_bf16_route;
  // Forcing works where the CPU allows it; dpbf16 is never chosen without AVX512_BF16.
  CHECK(set_bf16_route(Bf16Route::fma) == Bf16Route::fma);
  CHECK(set_bf16_route(Bf16Route::dpbf16) == (have_dpbf16() ? Bf16Route::dpbf16 : Bf16Route::fma));
  const Bf16Route automatic = set_bf16_route(Bf16Route::automatic);
  CHECK(automatic != Bf16Route::automatic);
  if (!have_dpbf16()) CHECK(automatic == Bf16Route::fma);
  // The measurement is cached: asking again gives the same answer.
  CHECK(tessel::detail::measured_bf16_route() == tessel::detail::measured_bf16_route());
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (have_dpbf16()) {
    const auto r = tessel::detail::isa_avx512_bf16::measure_route_rates();
    INFO("multiply-adds per ns: fp32 FMA " << r.fma << ", vdpbf16ps " << r.dpbf16 << "; measured route "
                                            << int(tessel::detail::measured_bf16_route()));
    CHECK(r.fma > 0);
    CHECK(r.dpbf16 > 0);
    SUCCEED();
  }
#endif
}

// Known limitation of the dpbf16 kernel, hidden from the default run (run it with
// `test_gemm_bf16 "[denormal]"`): vdpbf16ps treats bfloat16 denormal inputs as zero and
// flushes denormal fp32 results to zero, so on the forced (unguarded) dpbf16 route the first
// three cases below break the strict rule (the fma route passes all of them). Measured on
// AMD Zen 4:
//   2^-130 (a bfloat16 denormal) · 2^100                  -> 0            (ref 2^-30)
//   2^-130 · 2^100 + 1 · 2^-60                            -> 2^-60        (ref 2^-30)
//   2^-65 · 2^-65 (normal inputs, product 2^-130 denormal) -> 0            (ref 2^-130)
// Nothing is lost while every nonzero finite input has |x| >= 2^-40: every product is then
// >= 2^-80 and a multiple of 2^-94, and so is every partial sum, which is therefore 0 or
// normal. The default (automatic) route checks exactly that before using vdpbf16ps, so it
// takes the fma route for these and must be exact; the dpbf16 variant below documents the
// limitation of the forced route and stays hidden.
namespace {
bfloat16 bf16_from_bits(std::uint16_t b) { return bfloat16::from_bits(b); }
bool route_forced_dpbf16() {
  const char* env = std::getenv("TESSEL_BF16_ROUTE");
  return env != nullptr && std::string(env) == "dpbf16";
}
}  // namespace

TEST_CASE("gemm bf16: the default route keeps denormal inputs and products", "[gemm][bf16]") {
  if (route_forced_dpbf16()) {
    SUCCEED("TESSEL_BF16_ROUTE=dpbf16 forces the unguarded route");
    return;
  }
  struct Case {
    std::vector<float> a, b;
  };
  const float tiny = std::ldexp(1.0f, -130), big = std::ldexp(1.0f, 100);
  const std::vector<Case> cases = {{{tiny}, {big}},
                                   {{tiny, 1.0f}, {big, std::ldexp(1.0f, -60)}},
                                   {{std::ldexp(1.0f, -65)}, {std::ldexp(1.0f, -65)}},
                                   {{std::ldexp(1.0f, -60), std::ldexp(1.0f, -60)}, {std::ldexp(1.0f, -60), std::ldexp(1.0f, -60)}},
                                   {{std::ldexp(1.0f, -41)}, {std::ldexp(1.0f, -90)}}};
  for (const Case& c : cases) {
    const std::int64_t k = static_cast<std::int64_t>(c.a.size());
    std::vector<bfloat16> A(k), B(k);
    for (std::int64_t q = 0; q < k; ++q) A[q] = bfloat16(c.a[q]), B[q] = bfloat16(c.b[q]);
    bfloat16 C(0.0f);
    GemmProblem<bfloat16> p;
    p.m = 1, p.n = 1, p.k = k;
    p.a = {A.data(), 0, Axis::strided(k), Axis::strided(1)};
    p.b = {B.data(), 0, Axis::strided(1), Axis::strided(1)};
    p.c = {&C, 0, Axis::strided(1), Axis::strided(1)};
    CHECK(tessel::detail::bf16_route_for(p) == Bf16Route::fma);  // the guard sees the tiny input
    tessel::detail::gemm(p);
    double ref = 0;
    for (std::int64_t q = 0; q < k; ++q) ref += double(float(A[q])) * double(float(B[q]));
    INFO("a[0] " << float(A[0]) << " b[0] " << float(B[0]) << " k " << k << " got " << float(C) << " ref " << ref);
    CHECK(std::abs(double(float(C)) - ref) <= ulp_of<bfloat16>(ref) + std::ldexp(std::abs(ref), -23));
  }
}

TEST_CASE("gemm bf16: inputs >= 2^-40 take the dpbf16 route, exactly", "[gemm][bf16]") {
  // Values down to exactly 2^-40, zeros, and cancelling products: the guard lets the call
  // through to vdpbf16ps (where that is the measured or forced route), and products of
  // 2^-40-sized values (2^-80) survive cancellation, exactly as on the fma route.
  const std::int64_t m = 19, n = 37, k = 45;
  std::vector<bfloat16> A(m * k), B(k * n);
  // Small integers times a power of two per A row and per B column (row 0 and column 0 at
  // 2^-40, so C[0,0] sums multiples of 2^-80): every C element is exact in fp32.
  std::mt19937 rng(7);
  const float scales[] = {std::ldexp(1.0f, -40), 1.0f, std::ldexp(1.0f, -37), std::ldexp(1.0f, 20)};
  for (std::int64_t i = 0; i < m; ++i) {
    const float s = scales[i == 0 ? 0 : rng() % 4];
    for (std::int64_t q = 0; q < k; ++q) A[i * k + q] = bfloat16(float(int(rng() % 7) - 3) * s);
  }
  for (std::int64_t j = 0; j < n; ++j) {
    const float s = scales[j == 0 ? 0 : rng() % 4];
    for (std::int64_t q = 0; q < k; ++q) B[q * n + j] = bfloat16(float(int(rng() % 5) - 2) * s);
  }
  GemmProblem<bfloat16> p;
  p.m = m, p.n = n, p.k = k;
  p.a = {A.data(), 0, Axis::strided(k), Axis::strided(1)};
  p.b = {B.data(), 0, Axis::strided(n), Axis::strided(1)};
  std::vector<bfloat16> C(m * n);
  p.c = {C.data(), 0, Axis::strided(n), Axis::strided(1)};
  CHECK(tessel::detail::bf16_inputs_dpbf16_safe(p));
  CHECK(tessel::detail::bf16_route_for(p) == tessel::detail::bf16_route());
  const char* env = std::getenv("TESSEL_BF16_ROUTE");
  if (have_dpbf16() && env == nullptr && tessel::detail::measured_bf16_route() == Bf16Route::dpbf16)
    CHECK(tessel::detail::bf16_route_for(p) == Bf16Route::dpbf16);  // the default, unforced
  // Just below 2^-40 anywhere: the fma route, unless dpbf16 is forced.
  B[k * n - 1] = bf16_from_bits(0x2b7f);
  CHECK_FALSE(tessel::detail::bf16_inputs_dpbf16_safe(p));
  CHECK(tessel::detail::bf16_route_for(p) == (route_forced_dpbf16() && have_dpbf16() ? Bf16Route::dpbf16 : Bf16Route::fma));
  B[k * n - 1] = bfloat16(0.0f);
  // Exact on both routes (every sum is of integer multiples of 2^-94 small enough for fp32).
  std::vector<Bf16Route> routes{Bf16Route::fma};
  if (have_dpbf16()) routes.push_back(Bf16Route::dpbf16);
  for (Bf16Route r : routes) {
    RouteGuard route(r);
    tessel::detail::gemm_on(tessel::cpu_features().best_isa(), p);
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double ref = 0;
        for (std::int64_t q = 0; q < k; ++q) ref += double(float(A[i * k + q])) * double(float(B[q * n + j]));
        bad += double(float(C[i * n + j])) != double(float(bfloat16(float(ref))));
      }
    INFO("route " << int(r));
    CHECK(bad == 0);
  }
}

TEST_CASE("gemm bf16: NaN and Inf behave the same on both routes", "[gemm][bf16]") {
  if (!have_dpbf16()) {
    SUCCEED("the CPU lacks AVX512_BF16: nothing to compare");
    return;
  }
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float vals[] = {0.0f, -0.0f, 1.0f, -1.0f, 2.0f, 0.5f, inf, -inf, nan};
  const std::int64_t m = 17, n = 33, k = 5;
  std::vector<bfloat16> A(m * k), B(k * n);
  std::mt19937 rng(11);
  for (auto& v : A) v = bfloat16(vals[rng() % 9 < 6 ? rng() % 6 : rng() % 9]);
  for (auto& v : B) v = bfloat16(vals[rng() % 9 < 6 ? rng() % 6 : rng() % 9]);
  std::vector<bfloat16> C1(m * n), C2(m * n);
  GemmProblem<bfloat16> p;
  p.m = m, p.n = n, p.k = k;
  p.a = {A.data(), 0, Axis::strided(k), Axis::strided(1)};
  p.b = {B.data(), 0, Axis::strided(n), Axis::strided(1)};
  CHECK(tessel::detail::bf16_inputs_dpbf16_safe(p));  // NaN and Inf pass the guard
  {
    RouteGuard route(Bf16Route::fma);
    p.c = {C1.data(), 0, Axis::strided(n), Axis::strided(1)};
    tessel::detail::gemm_on(Isa::avx512, p);
  }
  {
    RouteGuard route(Bf16Route::dpbf16);
    p.c = {C2.data(), 0, Axis::strided(n), Axis::strided(1)};
    tessel::detail::gemm_on(Isa::avx512, p);
  }
  std::int64_t diff = 0, nans = 0, infs = 0;
  for (std::int64_t x = 0; x < m * n; ++x) {
    const float a = float(C1[x]), b = float(C2[x]);
    nans += std::isnan(a), infs += std::isinf(a);
    if (std::isnan(a) || std::isnan(b)) diff += std::isnan(a) != std::isnan(b);
    else diff += a != b;
  }
  INFO("NaN results " << nans << ", Inf results " << infs);
  CHECK(nans > 0);
  CHECK(infs > 0);
  CHECK(diff == 0);
}

TEST_CASE("gemm bf16: the guard scans every element the engine reads, and only those", "[gemm][bf16]") {
  using tessel::detail::Operand;
  // One R × C operand in several layouts (unit-stride rows or columns: the vector scan;
  // otherwise the scalar one), two batches or a shared one; a tiny value planted at each
  // storage position must be found exactly when the engine reads that position, and the
  // non-tiny specials (±2^-40, ±0, ±Inf, NaN) never count.
  const std::uint16_t tiny_bits[] = {0x2b7f, 0x2b00, 0x0001, 0x807f, 0x8080, 0xab7f};
  const std::uint16_t ok_bits[] = {0x2b80, 0xab80, 0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x3f80};
  std::vector<std::int64_t> idx;
  for (std::int64_t i = 0; i < 300; ++i) idx.push_back((i * 7) % 301);  // distinct, shuffled
  struct L {
    const char* name;
    std::int64_t R, C;
    Axis rows, cols;
    std::int64_t batch_stride;  // -1: the extent (two batches); 0: shared
  };
  const std::int64_t R1 = 3, C1 = 141, R2 = 141, C2 = 3;
  const std::vector<L> layouts = {
      {"rows contiguous", R1, C1, Axis::strided(C1 + 3), Axis::strided(1), -1},
      {"rows contiguous, shared", R1, C1, Axis::strided(C1 + 3), Axis::strided(1), 0},
      {"cols contiguous", R2, C2, Axis::strided(1), Axis::strided(R2 + 2), -1},
      {"strided", 5, 37, Axis::strided(2 * 37 + 3), Axis::strided(2), -1},
      {"gathered rows", 4, 65, Axis{65 + 1, 0, 0, idx.data()}, Axis::strided(1), -1},
      {"gathered cols", 4, 33, Axis::strided(2), Axis{1, 0, 0, idx.data()}, -1},
      {"merged rows", 5, 40, Axis{41, 2, 3 * 41, nullptr}, Axis::strided(1), -1},
  };
  for (const L& l : layouts) {
    std::int64_t ext = 0;
    std::vector<std::int64_t> offs;
    for (std::int64_t r = 0; r < l.R; ++r)
      for (std::int64_t c = 0; c < l.C; ++c) offs.push_back(l.rows.offset(r) + l.cols.offset(c));
    for (auto o : offs) ext = std::max(ext, o + 1);
    ext += 2;  // unread elements after the last
    const std::int64_t bs = l.batch_stride < 0 ? ext : 0;
    const std::int64_t batch = 2;
    std::vector<bfloat16> X(static_cast<std::size_t>(bs ? 2 * ext : ext), bfloat16(1.0f));
    std::vector<char> read(X.size(), 0);
    for (std::int64_t g = 0; g < (bs ? batch : 1); ++g)
      for (auto o : offs) read[static_cast<std::size_t>(g * bs + o)] = 1;
    std::vector<bfloat16> ones(static_cast<std::size_t>(std::max(l.R, l.C) * 4), bfloat16(1.0f));
    for (int as_b = 0; as_b < 2; ++as_b) {
      GemmProblem<bfloat16> p;
      p.batch = batch;
      const Operand<const bfloat16> op{X.data(), bs, l.rows, l.cols};
      if (!as_b) {
        p.m = l.R, p.k = l.C, p.n = 4;
        p.a = op;
        p.b = {ones.data(), 0, Axis::strided(4), Axis::strided(1)};
      } else {
        p.k = l.R, p.n = l.C, p.m = 4;
        p.a = {ones.data(), 0, Axis::strided(l.R), Axis::strided(1)};
        p.b = op;
      }
      std::int64_t wrong = 0, w = 0;
      REQUIRE(tessel::detail::bf16_inputs_dpbf16_safe(p));
      for (std::size_t x = 0; x < X.size(); ++x, ++w) {
        const bfloat16 keep = X[x];
        X[x] = bf16_from_bits(tiny_bits[w % 6]);
        wrong += tessel::detail::bf16_inputs_dpbf16_safe(p) == bool(read[x]);
        X[x] = bf16_from_bits(ok_bits[w % 8]);
        wrong += !tessel::detail::bf16_inputs_dpbf16_safe(p);
        X[x] = keep;
      }
      INFO(l.name << (as_b ? " as B" : " as A"));
      CHECK(wrong == 0);
    }
  }
}

TEST_CASE("gemm bf16: denormal inputs and products (known dpbf16 limitation)", "[.][denormal][gemm][bf16]") {
  struct Case {
    const char* name;
    std::vector<float> a, b;
  };
  const std::vector<Case> cases = {
      {"denormal input x 2^100", {std::ldexp(1.0f, -130)}, {std::ldexp(1.0f, 100)}},
      {"denormal input + normal", {std::ldexp(1.0f, -130), 1.0f}, {std::ldexp(1.0f, 100), std::ldexp(1.0f, -60)}},
      {"normal x normal = 2^-130", {std::ldexp(1.0f, -65)}, {std::ldexp(1.0f, -65)}},
      {"products 2^-120", {std::ldexp(1.0f, -60), std::ldexp(1.0f, -60)}, {std::ldexp(1.0f, -60), std::ldexp(1.0f, -60)}},
  };
  std::vector<Bf16Route> routes{Bf16Route::fma};
  if (have_dpbf16()) routes.push_back(Bf16Route::dpbf16);
  for (Bf16Route r : routes) {
    RouteGuard route(r);
    for (const Case& c : cases) {
      const std::int64_t k = static_cast<std::int64_t>(c.a.size());
      std::vector<bfloat16> A(k), B(k);
      for (std::int64_t q = 0; q < k; ++q) A[q] = bfloat16(c.a[q]), B[q] = bfloat16(c.b[q]);
      bfloat16 C(0.0f);
      GemmProblem<bfloat16> p;
      p.m = 1, p.n = 1, p.k = k;
      p.a = {A.data(), 0, Axis::strided(k), Axis::strided(1)};
      p.b = {B.data(), 0, Axis::strided(1), Axis::strided(1)};
      p.c = {&C, 0, Axis::strided(1), Axis::strided(1)};
      tessel::detail::gemm_on(tessel::cpu_features().best_isa(), p);
      double ref = 0, mag = 0;
      for (std::int64_t q = 0; q < k; ++q) {
        const double x = double(float(A[q])) * double(float(B[q]));
        ref += x, mag += std::abs(x);
      }
      const double got = double(float(C));
      const double tol = ulp_of<bfloat16>(ref) + 2.0 * std::sqrt(double(k) + 1) * std::ldexp(mag, -24);
      INFO("route " << (r == Bf16Route::dpbf16 ? "dpbf16" : "fma") << ": " << c.name << ": got " << got << " ref "
                    << ref << " tol " << tol);
      CHECK(std::abs(got - ref) <= tol);
    }
  }
}
