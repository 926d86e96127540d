// tessel/core/compare.hpp — allclose and equal, as torch.allclose and torch.equal.
//
//   allclose(a, b, rtol = 1e-5, atol = 1e-8, equal_nan = false)
//       true when every element pair (a and b broadcast against each other) satisfies
//       |a - b| <= atol + rtol · |b|, or a == b (equal infinities), or, with equal_nan, both are
//       NaN. A NaN is otherwise never close to anything, as in PyTorch. Note the asymmetry: the
//       tolerance scales with |b|, the second argument (the reference).
//   equal(a, b)
//       true when a and b have the same shape and every element is equal (NaN is not equal to NaN).
//
// Both accept any TensorLike of any element type and compare the values exactly in double (where
// PyTorch computes isclose in the tensors' own type and requires equal dtypes).
#pragma once

#include "config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "dtype.hpp"
#include "error.hpp"
#include "shape.hpp"
#include "tensor.hpp"
#include "tensor_view.hpp"

TESSEL_NAMESPACE_BEGIN

namespace detail {

// The broadcast shape of two shapes (aligned at the end; each pair equal or one of them 1).
template <std::size_t RA, std::size_t RB>
Shape<std::max(RA, RB)> broadcast_shapes(std::string_view where, const Shape<RA>& a, const Shape<RB>& b) {
  constexpr std::size_t N = std::max(RA, RB);
  Shape<N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const std::int64_t sa = i + RA >= N ? a[i + RA - N] : 1;
    const std::int64_t sb = i + RB >= N ? b[i + RB - N] : 1;
    check(sa == sb || sa == 1 || sb == 1, where, "shapes ", a, " and ", b, " do not broadcast: dimension ", i,
          " has sizes ", sa, " and ", sb);
    out[i] = sa == 1 ? sb : sa;
  }
  return out;
}

// PyTorch's isclose for one pair, in double.
inline bool is_close(double a, double b, double rtol, double atol, bool equal_nan) {
  if (a == b) return true;
  if (equal_nan && std::isnan(a) && std::isnan(b)) return true;
  const double error = std::fabs(a - b);
  return std::isfinite(error) && error <= atol + std::fabs(rtol * b);
}

}  // namespace detail

template <TensorLike A, TensorLike B>
bool allclose(const A& a, const B& b, double rtol = 1e-5, double atol = 1e-8, bool equal_nan = false) {
  detail::check(rtol >= 0, "allclose", "rtol must be greater than or equal to zero, but got ", rtol);
  detail::check(atol >= 0, "allclose", "atol must be greater than or equal to zero, but got ", atol);
  const auto va = as_const_view(a);
  const auto vb = as_const_view(b);
  constexpr std::size_t N = std::max(rank_of_v<A>, rank_of_v<B>);
  const Shape<N> shape = detail::broadcast_shapes("allclose", va.shape(), vb.shape());
  const auto ea = detail::ExpandOp{}(va, shape);
  const auto eb = detail::ExpandOp{}(vb, shape);
  bool close = true;
  const auto* pa = ea.data();
  const auto* pb = eb.data();
  detail::for_each_offset<N, 2>(shape, {ea.strides(), eb.strides()}, [&](const std::array<std::int64_t, 2>& off) {
    close = close && detail::is_close(static_cast<double>(to_float(pa[off[0]])),
                                      static_cast<double>(to_float(pb[off[1]])), rtol, atol, equal_nan);
  });
  return close;
}

template <TensorLike A, TensorLike B>
bool equal(const A& a, const B& b) {
  if constexpr (rank_of_v<A> != rank_of_v<B>) {
    return false;
  } else {
    constexpr std::size_t R = rank_of_v<A>;
    const auto va = as_const_view(a);
    const auto vb = as_const_view(b);
    if (va.shape() != vb.shape()) return false;
    bool same = true;
    const auto* pa = va.data();
    const auto* pb = vb.data();
    detail::for_each_offset<R, 2>(va.shape(), {va.strides(), vb.strides()}, [&](const std::array<std::int64_t, 2>& off) {
      same = same && to_float(pa[off[0]]) == to_float(pb[off[1]]);
    });
    return same;
  }
}

TESSEL_NAMESPACE_END
