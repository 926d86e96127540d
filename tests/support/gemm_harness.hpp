// tests/support/gemm_harness.hpp — the engine test harness shared by test_gemm.cpp and
// test_gemm_bf16.cpp: operand layouts (transposes, gathers, scatters, merged axes, strides,
// shared B), an fp64 reference with the engine's strict tolerance
//     |ours − ref| ≤ ulp_T(ref) + 2·sqrt(k)·2^-24·Σ|a·b|          (per element)
// and run_case(), which builds one problem, runs it on a given ISA and thread count, and
// checks every element (and that nothing outside C's elements was written).
#pragma once

#include <catch2/catch.hpp>

#include <tessel/gemm/blocking.hpp>
#include <tessel/gemm/gemm.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace tessel_test_gemm {

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

}  // namespace tessel_test_gemm
