// tests/support/gemm_harness.hpp — the engine test harness shared by test_gemm.cpp and
// test_gemm_bf16.cpp: operand layouts (transposes, gathers, scatters, merged axes, axes of
// several dimensions, strides, batch groups, shared B), an fp64 reference with the engine's
// strict tolerance
//     |ours − ref| ≤ ulp_T(ref) + 2·sqrt(k)·2^-24·Σ|a·b|          (per element)
// and run_case(), which builds one problem, runs it on a given ISA and thread count, and
// checks every element (and that nothing outside C's elements was written).
//
// The reference computes every operand address from its own offset tables, built here from
// the layout description by explicit digit loops (it shares no code with Axis::offset).
#pragma once

#include <catch2/catch.hpp>

#include <tessel/gemm/blocking.hpp>
#include <tessel/gemm/gemm.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "reference.hpp"

namespace tessel_test_gemm {

using tessel::bfloat16;
using tessel::float16;
using tessel::Isa;
using tessel::detail::Axis;
using tessel::detail::GemmProblem;
using tessel_test::ulp_of;

enum Layout : unsigned {
  kPlain = 0,
  kTransA = 1,      // A stored k-major (column-major)
  kTransB = 2,      // B stored n-major
  kGatherRows = 4,  // A rows (and hence C rows) picked by an index list from a taller A
  kGatherK = 8,     // k picked by an index list from a deeper A and B
  kScatterC = 16,   // C rows written through an index list into a taller C
  kAccumulate = 32,  // β = 1 (with kScale: β = 0.5)
  kMerged = 64,     // A rows are a merged [outer, inner] pair whose strides do not merge
  kStrided = 128,   // non-unit element strides on every operand
  kSharedB = 256,   // B batch stride 0 (one B for every batch)
  kGroups = 512,    // rows, k and columns of every operand as 2-3 non-mergeable dimensions
  kBatchGroups = 1024,  // the batch as two dimensions (of an even batch); B broadcast along one
  kBias = 2048,      // a bias along n (C's columns), every third element of a longer vector
  kBiasRows = 4096,  // a bias along m (C's rows), stride 2
  kScale = 8192,     // α = -0.75 (and β = 0.5 when accumulating)
};

inline std::string layout_name(unsigned l) {
  if (l == 0) return "plain";
  std::string s;
  const char* names[] = {"transA",  "transB",      "gatherRows", "gatherK",  "scatterC", "accumulate", "merged",
                         "strided", "sharedB",     "groups",     "batchGroups", "bias",  "biasRows",   "scale"};
  for (int i = 0; i < 14; ++i)
    if (l & (1u << i)) s += std::string(s.empty() ? "" : "+") + names[i];
  return s;
}

template <class T>
std::uint32_t bits_of(T v) {
  if constexpr (std::is_same_v<T, float>) return std::bit_cast<std::uint32_t>(v);
  else return std::bit_cast<std::uint16_t>(v);
}

// One axis of an operand: the engine's description and, for the reference, the element
// offset of every logical index.
struct AxisPlan {
  std::vector<std::int64_t> offsets;  // logical index -> element offset
  std::vector<std::int64_t> index;    // the index list, when the axis has one
  Axis axis;
};

inline std::int64_t extent(const std::vector<std::int64_t>& offs) {
  std::int64_t e = 0;
  for (auto o : offs) e = std::max(e, o + 1);
  return e;
}

// Dimensions of an axis, outermost first; `source` indices (the index list's range, or n).
struct Dims {
  std::vector<std::int64_t> sizes, strides;
};
// `source` indices as dimensions: the given inner sizes (outermost first) with an outermost
// dimension taking the rest; the innermost has `stride`, each outer one the extent of its
// inner neighbour plus `gap` (so no two merge). No inner sizes: one dimension.
inline Dims grouped(std::int64_t source, std::int64_t stride, const std::vector<std::int64_t>& inner,
                    std::int64_t gap) {
  std::int64_t inner_count = 1;
  for (auto s : inner) inner_count *= s;
  Dims d;
  d.sizes.push_back(std::max<std::int64_t>(1, (source + inner_count - 1) / inner_count));
  d.sizes.insert(d.sizes.end(), inner.begin(), inner.end());
  d.strides.assign(d.sizes.size(), 0);
  std::int64_t s = stride;
  for (std::size_t x = d.sizes.size(); x-- > 0;) {
    d.strides[x] = s;
    s = s * d.sizes[x] + gap;
  }
  return d;
}
// The element offset of logical index i of Dims (digits by repeated division, innermost last).
inline std::int64_t dims_offset(const Dims& d, std::int64_t i) {
  std::int64_t off = 0;
  for (std::size_t x = d.sizes.size(); x-- > 1;) {
    off += (i % d.sizes[x]) * d.strides[x];
    i /= d.sizes[x];
  }
  return off + i * d.strides[0];
}
// n logical indices over Dims, optionally picked through an index list first.
inline AxisPlan make_axis(std::int64_t n, const Dims& d, std::vector<std::int64_t> index = {}) {
  AxisPlan a;
  a.index = std::move(index);
  a.axis = Axis::of(d.sizes.data(), d.strides.data(), static_cast<int>(d.sizes.size()));
  for (std::int64_t i = 0; i < n; ++i) a.offsets.push_back(dims_offset(d, a.index.empty() ? i : a.index[i]));
  return a;
}
inline AxisPlan strided_axis(std::int64_t n, std::int64_t stride) { return make_axis(n, grouped(n, stride, {}, 0)); }
// n distinct indices picked (shuffled) from [0, source).
inline std::vector<std::int64_t> pick(std::int64_t n, std::int64_t source, std::mt19937& rng) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(source));
  std::iota(all.begin(), all.end(), 0);
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(n));
  return all;
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

// The batch axis of one operand over `batch` indices, given its matrix size: one dimension of
// that stride, two (batch/2, 2) with a gap under kBatchGroups, broadcast along the inner one
// when `broadcast_inner`; `shared`: stride 0.
inline AxisPlan batch_axis(unsigned layout, std::int64_t batch, std::int64_t matrix, bool shared, bool broadcast_inner) {
  if (shared) return strided_axis(batch, 0);
  if ((layout & kBatchGroups) && batch % 2 == 0 && batch >= 2) {
    Dims d{{batch / 2, 2}, {(broadcast_inner ? 1 : 2) * matrix + 5, broadcast_inner ? 0 : matrix}};
    return make_axis(batch, d);
  }
  return strided_axis(batch, matrix);
}

// Runs one (isa, T, layout, shape) case with output type TC (T, or float: then unrounded);
// returns the C the engine wrote (for the thread check).
template <class T, class TC = T>
std::vector<TC> run_case(Isa isa, unsigned layout, Shape s, int threads, std::uint32_t seed) {
  std::mt19937 rng(seed);
  const bool strided = layout & kStrided, groups = layout & kGroups;
  const std::int64_t es = strided ? 2 : 1;  // element stride of the "contiguous" axis
  const std::int64_t m = s.m, n = s.n, k = s.k;
  // An axis of `count` indices from `source`, innermost stride `stride`, grouped when asked.
  auto axis_of = [&](std::int64_t count, std::int64_t source, std::int64_t stride, std::vector<std::int64_t> inner,
                     std::vector<std::int64_t> index) {
    return make_axis(count, grouped(source, stride, groups ? inner : std::vector<std::int64_t>{}, groups ? 3 : 0),
                     std::move(index));
  };

  // --- k axis (shared by A cols and B rows), gathered or not ---
  const std::int64_t k_src = (layout & kGatherK) ? k + 5 : k;
  const std::vector<std::int64_t> kidx = (layout & kGatherK) ? pick(k, k_src, rng) : std::vector<std::int64_t>{};
  auto k_axis = [&](std::int64_t stride) { return axis_of(k, k_src, stride, {4}, kidx); };
  // The elements spanned by all `source` indices of such an axis (a leading dimension).
  auto reach = [&](std::int64_t source, std::int64_t stride, std::vector<std::int64_t> inner) {
    return extent(axis_of(source, source, stride, std::move(inner), {}).offsets);
  };

  // --- A: m × k ---
  const std::int64_t m_src = (layout & kGatherRows) ? m + 7 : m;
  const std::vector<std::int64_t> ridx = (layout & kGatherRows) ? pick(m, m_src, rng) : std::vector<std::int64_t>{};
  AxisPlan a_rows, a_cols;
  if (layout & kTransA) {
    a_rows = axis_of(m, m_src, es, {5}, ridx);
    a_cols = k_axis(reach(m_src, es, {5}) + 3);
  } else {
    a_cols = k_axis(es);
    const std::int64_t lda = reach(k_src, es, {4}) + 3;
    if (layout & kMerged) {
      const std::int64_t inner = 5;  // rows (b, s) of a [b, s, h] input permuted so s is outer
      const std::int64_t outer = (m_src + inner - 1) / inner;
      a_rows = make_axis(m, Dims{{outer, inner}, {lda, lda * outer}});
    } else {
      a_rows = axis_of(m, m_src, lda, {2, 3}, ridx);
    }
  }
  // --- B: k × n ---
  AxisPlan b_rows, b_cols;
  if (layout & kTransB) {
    b_rows = k_axis(es);
    b_cols = axis_of(n, n, reach(k_src, es, {4}) + 1, {3}, {});
  } else {
    b_cols = axis_of(n, n, es, {8}, {});
    b_rows = k_axis(extent(b_cols.offsets) + 2);
  }
  // --- C: m × n ---
  AxisPlan c_cols = axis_of(n, n, es, {8}, {});
  const std::int64_t ldc = extent(c_cols.offsets) + 4;
  const std::int64_t mc_src = (layout & kScatterC) ? m + 6 : m;
  AxisPlan c_rows = axis_of(m, mc_src, ldc, {2, 3}, (layout & kScatterC) ? pick(m, mc_src, rng) : std::vector<std::int64_t>{});

  const std::int64_t a_size = extent(a_rows.offsets) + extent(a_cols.offsets) + 1;
  const std::int64_t b_size = extent(b_rows.offsets) + extent(b_cols.offsets) + 1;
  const std::int64_t c_size = reach(mc_src, ldc, {2, 3}) + ldc;
  AxisPlan a_batch = batch_axis(layout, s.batch, a_size, false, false);
  AxisPlan b_batch = batch_axis(layout, s.batch, b_size, layout & kSharedB, true);
  AxisPlan c_batch = batch_axis(layout, s.batch, c_size, false, false);

  std::vector<T> A(static_cast<std::size_t>(extent(a_batch.offsets) + a_size)),
      B(static_cast<std::size_t>(extent(b_batch.offsets) + b_size));
  for (auto& v : A) v = random_value<T>(rng);
  for (auto& v : B) v = random_value<T>(rng);
  std::vector<TC> C(static_cast<std::size_t>(extent(c_batch.offsets) + c_size));
  // Without β, C starts as NaN: a store that read it would make every result NaN.
  const TC sentinel = tessel::from_float<TC>(std::numeric_limits<float>::quiet_NaN());
  for (auto& v : C) v = (layout & kAccumulate) ? random_value<TC>(rng) : sentinel;
  const std::vector<TC> C0 = C;
  // The epilogue: α, β and a bias (T values, strided inside a longer vector).
  const bool bias_n = layout & kBias, bias_m = !bias_n && (layout & kBiasRows);
  const std::int64_t bias_stride = bias_n ? 3 : 2, bias_count = bias_n ? n : m;
  std::vector<T> bias(static_cast<std::size_t>(bias_count * bias_stride + 1));
  for (auto& v : bias) v = random_value<T>(rng);
  const float alpha = (layout & kScale) ? -0.75f : 1.0f;
  const float beta = (layout & kAccumulate) ? ((layout & kScale) ? 0.5f : 1.0f) : 0.0f;

  GemmProblem<T, TC> p;
  p.batch = s.batch, p.m = m, p.n = n, p.k = k;
  auto with_index = [](AxisPlan& ap) {
    return ap.index.empty() ? ap.axis : ap.axis.with_index(ap.index.data());
  };
  p.a = {A.data(), a_batch.axis, with_index(a_rows), with_index(a_cols)};
  p.b = {B.data(), b_batch.axis, with_index(b_rows), with_index(b_cols)};
  p.c = {C.data(), c_batch.axis, with_index(c_rows), with_index(c_cols)};
  p.epilogue.alpha = alpha;
  p.epilogue.beta = beta;
  if (bias_n || bias_m) {
    p.epilogue.bias = bias.data();
    p.epilogue.bias_stride = bias_stride;
    p.epilogue.bias_along = bias_n ? tessel::detail::BiasAlong::n : tessel::detail::BiasAlong::m;
  }
  p.threads = threads;
  tessel::detail::gemm_on(isa, p);

  // --- the reference ---
  std::vector<char> written(C.size(), 0);
  std::int64_t bad = 0, overlap = 0;
  for (std::int64_t g = 0; g < s.batch; ++g) {
    const std::int64_t ga = a_batch.offsets[g], gb = b_batch.offsets[g], gc = c_batch.offsets[g];
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double ref = 0, mag = 0;
        for (std::int64_t q = 0; q < k; ++q) {
          const double x = static_cast<double>(static_cast<float>(A[ga + a_rows.offsets[i] + a_cols.offsets[q]]));
          const double y = static_cast<double>(static_cast<float>(B[gb + b_rows.offsets[q] + b_cols.offsets[j]]));
          ref += x * y;
          mag += std::abs(x * y);
        }
        const std::int64_t ci = gc + c_rows.offsets[i] + c_cols.offsets[j];
        ref *= alpha, mag *= std::abs(alpha);
        if (bias_n || bias_m) {
          const double bv = static_cast<double>(static_cast<float>(bias[(bias_n ? j : i) * bias_stride]));
          ref += bv;
          mag += std::abs(bv);
        }
        if (beta != 0.0f) {
          const double old = beta * static_cast<double>(static_cast<float>(C0[ci]));
          ref += old;
          mag += std::abs(old);
        }
        overlap += written[ci];
        written[ci] = 1;
        const double got = static_cast<double>(static_cast<float>(C[ci]));
        // (k products, and up to three roundings of the epilogue: α, the bias, β·C.)
        const double tol = ulp_of<TC>(ref) + 2.0 * std::sqrt(double(k) + 3) * std::ldexp(mag, -24);
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
  INFO("isa " << tessel::isa_name(isa) << " " << tessel::dtype_name<T>() << " -> " << tessel::dtype_name<TC>() << " "
              << layout_name(layout) << " batch "
              << s.batch << " m " << m << " n " << n << " k " << k << " threads " << threads);
  REQUIRE(overlap == 0);  // the layout itself must give every C element its own place
  CHECK(bad == 0);
  CHECK(clobbered == 0);
  return C;
}

// Every layout on every shape, on one ISA path, one thread.
template <class T, class TC = T>
void sweep(Isa isa, const std::vector<unsigned>& layouts, const std::vector<Shape>& shapes) {
  std::uint32_t seed = 1;
  for (unsigned l : layouts)
    for (const Shape& s : shapes) run_case<T, TC>(isa, l, s, 1, seed++);
}

// The layouts every path is swept over: each feature alone, and combinations that meet in
// the same packing or store code.
inline std::vector<unsigned> all_layouts() {
  return {kPlain,
          kTransA,
          kTransB,
          kGatherRows,
          kGatherK,
          kScatterC,
          kAccumulate,
          kMerged,
          kStrided,
          kGroups,
          kBatchGroups,
          kTransA | kTransB | kStrided,
          kGatherRows | kGatherK | kScatterC | kAccumulate,
          kMerged | kGatherK | kStrided | kAccumulate,
          kTransA | kGatherRows | kScatterC,
          kTransB | kGatherK | kSharedB,
          kStrided | kSharedB | kAccumulate,
          kTransA | kGatherK,
          kTransB | kStrided,
          kGroups | kTransA | kTransB,
          kGroups | kStrided | kAccumulate,
          kGroups | kGatherK | kGatherRows | kScatterC,
          kGroups | kTransA | kGatherK | kBatchGroups,
          kBatchGroups | kSharedB | kAccumulate,
          kBias,
          kBiasRows,
          kScale,
          kScale | kAccumulate,
          kBias | kScale | kAccumulate | kTransA,
          kBiasRows | kTransB | kGatherRows | kScatterC,
          kBias | kGroups | kStrided,
          kBias | kBiasRows | kScale | kBatchGroups};
}

}  // namespace tessel_test_gemm
