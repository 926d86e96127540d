// tessel/ops/einsum/contraction.hpp — a two-operand product on the GEMM engine, planned as
// TBLIS plans a tensor contraction "without transposition":
//
//   c[batch, M, N] = bias + Σ_K a[batch, M, K] · b[batch, K, N]
//
// The dimensions of dims.hpp fall into four groups by where they have strides:
//   batch  in a, b and c          M  in a and c (b's stride 0)
//   N      in b and c (a's 0)     K  summed (c's stride 0; a or b may broadcast it)
// Within a group the dimensions are ordered by stride and merged where their strides allow;
// what is left is a list of (size, stride) pairs per operand for the engine's packing and
// store to walk. No operand is copied unless the engine cannot express a group (see
// run_on_engine). The operands swap roles (Cᵀ = Bᵀ·Aᵀ, the same sums) when that puts c's
// contiguous dimension in N, where the store writes whole vectors.
//
// Products the engine would do badly go to the strided loops instead (loops.hpp): nothing
// contracted (outer and Hadamard products: k = 1), or no free dimension on either side
// (dot products: 1×1 tiles).
#pragma once

#include "../../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "../../core/tensor.hpp"
#include "../../gemm/gemm.hpp"
#include "dims.hpp"
#include "loops.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct ProductGroups {
  ProductDims batch, m, n, k;
};

inline ProductGroups group_dims(const ProductDims& dims) {
  ProductGroups g;
  for (const auto& d : dims) {
    if (is_summed(d)) g.k.push_back(d);
    else if (d.b == 0) g.m.push_back(d);
    else if (d.a == 0) g.n.push_back(d);
    else g.batch.push_back(d);
  }
  return g;
}

// Orders every group outer to inner and merges what merges. K follows a's strides, then b's:
// a is packed along k.
inline void order_groups(ProductGroups& g) {
  auto by_c = [](const ProductDim& d) { return d.c; };
  auto by_a = [](const ProductDim& d) { return d.a; };
  auto by_b = [](const ProductDim& d) { return d.b; };
  sort_outer_to_inner(g.batch, by_c, by_a);
  sort_outer_to_inner(g.m, by_c, by_a);
  sort_outer_to_inner(g.n, by_c, by_b);
  sort_outer_to_inner(g.k, by_a, by_b);
  for (ProductDims* grp : {&g.batch, &g.m, &g.n, &g.k}) merge_dims(*grp);
}

inline void swap_operands(ProductDims& dims) {
  for (auto& d : dims) std::swap(d.a, d.b);
}

// ---------------------------------------------------------------- the engine's description
//
// Each group becomes one engine Axis per operand (gemm/axis.hpp), which walks up to
// Axis::kMaxDims dimensions, and the bias the engine's epilogue when it runs along the
// columns or the rows of C with one stride. Beyond that (tensors of rank 7 and more with
// dimensions that do not merge; a bias that varies along a batch dimension or along both M
// and N), a FALLBACK lowers the group differently (tests/test_einsum.cpp exercises each
// branch and counts the copies):
//   * M or N with more dimensions: the outer ones become batch dimensions (an M dimension is
//     a batch dimension along which b does not move);
//   * more batch dimensions: the outer ones are looped over, one engine call each;
//   * K with more dimensions: no loop can split a sum without rounding twice, so an operand
//     is copied with its K dimensions contiguous in the other's order (both when neither
//     order merges into few enough);
//   * a bias the epilogue cannot take: c is filled with it first and the product added onto
//     it (beta = 1), which rounds the same sum once.
inline constexpr std::size_t kEngineAxisDims = static_cast<std::size_t>(Axis::kMaxDims);

// One operand's Axis over a group's dimensions (outer to inner, at most kEngineAxisDims).
inline Axis engine_axis(const ProductDims& g, std::int64_t ProductDim::*stride) {
  if (g.empty()) return Axis::strided(0);
  Axis axis;
  axis.dims = static_cast<int>(g.size());
  for (std::size_t d = 0; d < g.size(); ++d) axis.size[d] = g[d].size, axis.stride[d] = g[d].*stride;
  return axis;
}

inline bool has_bias_stride(const ProductDims& g) {
  return std::any_of(g.begin(), g.end(), [](const ProductDim& d) { return d.bias != 0; });
}
// The stride s for which the bias of the group's logical index j is bias[j·s], if any.
inline std::optional<std::int64_t> bias_stride_along(const ProductDims& g) {
  if (g.empty()) return 0;
  const std::int64_t s = g.back().bias;
  std::int64_t inner = 1;
  for (auto d = g.rbegin(); d != g.rend(); ++d) {
    if (d->bias != s * inner) return std::nullopt;
    inner *= d->size;
  }
  return s;
}

// How many dimensions a group keeps when merged on one operand's strides alone, in that
// operand's order.
inline std::size_t merged_count(ProductDims g, std::int64_t ProductDim::*stride) {
  for (auto& d : g) {
    const std::int64_t s = d.*stride;
    d = ProductDim{d.size, s, 0, 0, 0};
  }
  sort_outer_to_inner(g, [](const ProductDim& d) { return d.a; }, [](const ProductDim&) { return 0; });
  merge_dims(g);
  return g.size();
}

// A contiguous copy of one operand (its `stride` member in every dimension of `order`, outer
// to inner), returning the new strides through `order`. Dimensions where the operand's
// stride is 0 stay broadcast.
template <class T>
Tensor<T, 1> copy_operand(const T* src, ProductDims& order, std::int64_t ProductDim::*stride) {
  ProductDims copy;
  std::int64_t next = 1;
  for (std::size_t i = order.size(); i-- > 0;) {
    ProductDim& d = order[i];
    if (d.*stride == 0) continue;
    copy.insert(copy.begin(), ProductDim{d.size, d.*stride, 0, next, 0});
    d.*stride = next;
    next *= d.size;
  }
  Tensor<T, 1> buffer(Shape<1>{next}, uninitialized);
  run_loops<T>(src, nullptr, nullptr, buffer.data(), copy);
  return buffer;
}

template <class T>
void run_on_engine(const T* a, const T* b, const T* bias, T* c, ProductGroups g) {
  // FALLBACK (see above): K beyond an Axis -> copy the operand(s) that break it.
  Tensor<T, 1> a_copy, b_copy;
  if (g.k.size() > kEngineAxisDims) {
    const bool b_fits = merged_count(g.k, &ProductDim::b) <= kEngineAxisDims;
    const bool a_fits = merged_count(g.k, &ProductDim::a) <= kEngineAxisDims;
    auto order_k_by = [&](std::int64_t ProductDim::*s) {
      sort_outer_to_inner(g.k, [s](const ProductDim& d) { return d.*s; }, [](const ProductDim&) { return 0; });
    };
    auto copy = [&](const T*& x, std::int64_t ProductDim::*s, ProductDims& free) {
      ProductDims all = g.batch;
      all.insert(all.end(), free.begin(), free.end());
      all.insert(all.end(), g.k.begin(), g.k.end());
      Tensor<T, 1> t = copy_operand(x, all, s);
      x = t.data();
      std::copy(all.begin(), all.begin() + std::ptrdiff_t(g.batch.size()), g.batch.begin());
      std::copy(all.begin() + std::ptrdiff_t(g.batch.size()), all.end() - std::ptrdiff_t(g.k.size()), free.begin());
      std::copy(all.end() - std::ptrdiff_t(g.k.size()), all.end(), g.k.begin());
      return t;
    };
    if (b_fits) {
      order_k_by(&ProductDim::b);
      a_copy = copy(a, &ProductDim::a, g.m);
    } else if (a_fits) {
      order_k_by(&ProductDim::a);
      b_copy = copy(b, &ProductDim::b, g.n);
    } else {
      order_k_by(&ProductDim::a);
      a_copy = copy(a, &ProductDim::a, g.m);
      b_copy = copy(b, &ProductDim::b, g.n);
    }
    order_groups(g);
  }
  // FALLBACK: M and N beyond an Axis -> batch dimensions; the batch beyond one -> a loop.
  for (ProductDims* grp : {&g.m, &g.n})
    while (grp->size() > kEngineAxisDims) {
      g.batch.insert(g.batch.begin(), grp->front());
      grp->erase(grp->begin());
    }
  const auto looped_count = g.batch.size() > kEngineAxisDims ? g.batch.size() - kEngineAxisDims : 0;
  const ProductDims looped(g.batch.begin(), g.batch.begin() + std::ptrdiff_t(looped_count));
  const ProductDims batch(g.batch.begin() + std::ptrdiff_t(looped_count), g.batch.end());

  GemmProblem<T> p;
  p.batch = count_of(batch);
  p.m = count_of(g.m);
  p.n = count_of(g.n);
  p.k = count_of(g.k);
  p.a = {a, engine_axis(batch, &ProductDim::a), engine_axis(g.m, &ProductDim::a), engine_axis(g.k, &ProductDim::a)};
  p.b = {b, engine_axis(batch, &ProductDim::b), engine_axis(g.k, &ProductDim::b), engine_axis(g.n, &ProductDim::b)};
  p.c = {c, engine_axis(batch, &ProductDim::c), engine_axis(g.m, &ProductDim::c), engine_axis(g.n, &ProductDim::c)};
  if (bias) {
    // The epilogue takes a bias along N or M with one stride, the same for every batch.
    std::optional<std::int64_t> stride;
    BiasAlong along = BiasAlong::n;
    if (!has_bias_stride(g.batch)) {
      if (!has_bias_stride(g.m)) stride = bias_stride_along(g.n);
      else if (!has_bias_stride(g.n)) stride = bias_stride_along(g.m), along = BiasAlong::m;
    }
    if (stride) {
      p.epilogue.bias = bias;
      p.epilogue.bias_stride = *stride;
      p.epilogue.bias_along = along;
    } else {  // FALLBACK: the bias into c first, the product added onto it
      ProductDims out = g.batch;
      for (const ProductDims* grp : {&g.m, &g.n}) out.insert(out.end(), grp->begin(), grp->end());
      run_loops<T>(nullptr, nullptr, bias, c, out);
      p.epilogue.beta = 1.0f;
    }
  }
  DimWalk w(looped);
  const std::int64_t calls = count_of(looped);
  for (std::int64_t q = 0; q < calls; ++q, w.next()) {
    GemmProblem<T> pq = p;
    pq.a.data = a + w.a, pq.b.data = b + w.b, pq.c.data = c + w.c;
    gemm(pq);
  }
}

// c = bias + Σ a·b over `dims` (bias may be null). c must not overlap a, b or bias.
template <class T>
void multiply(const T* a, const T* b, const T* bias, T* c, ProductDims dims) {
  drop_unit_dims(dims);
  for (const auto& d : dims)
    if (d.size == 0 && !is_summed(d)) return;  // an empty output
  ProductGroups g = group_dims(dims);
  const bool empty_sum = std::any_of(g.k.begin(), g.k.end(), [](const ProductDim& d) { return d.size == 0; });
  if (empty_sum || g.k.empty() || (g.m.empty() && g.n.empty())) return run_loops<T>(a, b, bias, c, std::move(dims));
  // c's contiguous dimension in N (Cᵀ = Bᵀ·Aᵀ when it is in M).
  const ProductDim* inner = nullptr;
  for (const ProductDims* grp : {&g.batch, &g.m, &g.n})
    for (const auto& d : *grp)
      if (!inner || d.c < inner->c) inner = &d;
  if (inner && inner->b == 0) {
    swap_operands(dims);
    std::swap(a, b);
    g = group_dims(dims);
  }
  order_groups(g);
  run_on_engine<T>(a, b, bias, c, std::move(g));
}

}  // namespace detail
TESSEL_NAMESPACE_END
