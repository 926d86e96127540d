// tessel/core/factories.hpp — making tensors the way PyTorch's factory functions do:
// zeros, ones, full, arange, randn, and the *_like forms.
//
//   auto a = zeros<bfloat16>({2, 3});            // torch.zeros(2, 3, dtype=torch.bfloat16)
//   auto b = ones(4, 5);                         // float by default, as torch's default dtype
//   auto c = full<float16>({2, 2}, 0.1);         // 0.1 rounded once to float16
//   auto d = arange(0.0, 1.0, 0.25);             // [0, 0.25, 0.5, 0.75]
//   auto e = randn<float>({64, 128}, /*seed=*/7);  // N(0, 1), the same values on every platform
//
// A shape is given as sizes (ones(4, 5)), a braced list (zeros({2, 3})) or a Shape<R>. Values
// are computed in double and rounded once to the element type.
#pragma once

#include "config.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "dtype.hpp"
#include "error.hpp"
#include "random.hpp"
#include "shape.hpp"
#include "tensor.hpp"
#include "tensor_view.hpp"

TESSEL_NAMESPACE_BEGIN

namespace detail {
template <std::size_t R>
Shape<R> shape_of(const std::int64_t (&sizes)[R]) {
  Shape<R> s{};
  for (std::size_t d = 0; d < R; ++d) s[d] = sizes[d];
  return s;
}
}  // namespace detail

// ---- zeros, ones, full ----------------------------------------------------------------------

template <ElementType T = float, std::size_t R>
Tensor<T, R> zeros(const Shape<R>& shape) {
  return Tensor<T, R>(shape);
}
template <ElementType T = float, std::size_t R>
Tensor<T, R> zeros(const std::int64_t (&shape)[R]) {
  return zeros<T>(detail::shape_of(shape));
}
template <ElementType T = float, class... I>
  requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
Tensor<T, sizeof...(I)> zeros(I... sizes) {
  return zeros<T>(detail::make_shape(sizes...));
}

// Every element `value` (a number, rounded once to T, or an element type).
template <ElementType T = float, std::size_t R, class V>
Tensor<T, R> full(const Shape<R>& shape, const V& value) {
  Tensor<T, R> t(shape, uninitialized);
  t.fill_(value);
  return t;
}
template <ElementType T = float, std::size_t R, class V>
Tensor<T, R> full(const std::int64_t (&shape)[R], const V& value) {
  return full<T>(detail::shape_of(shape), value);
}

template <ElementType T = float, std::size_t R>
Tensor<T, R> ones(const Shape<R>& shape) {
  return full<T>(shape, 1.0);
}
template <ElementType T = float, std::size_t R>
Tensor<T, R> ones(const std::int64_t (&shape)[R]) {
  return ones<T>(detail::shape_of(shape));
}
template <ElementType T = float, class... I>
  requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
Tensor<T, sizeof...(I)> ones(I... sizes) {
  return ones<T>(detail::make_shape(sizes...));
}

// New tensors with x's shape (and, unless given, its element type).
template <class T = void, TensorLike X>
auto zeros_like(const X& x) {
  using U = std::conditional_t<std::is_void_v<T>, element_of_t<X>, T>;
  return zeros<U>(as_const_view(x).shape());
}
template <class T = void, TensorLike X>
auto ones_like(const X& x) {
  using U = std::conditional_t<std::is_void_v<T>, element_of_t<X>, T>;
  return ones<U>(as_const_view(x).shape());
}
template <class T = void, TensorLike X, class V>
auto full_like(const X& x, const V& value) {
  using U = std::conditional_t<std::is_void_v<T>, element_of_t<X>, T>;
  return full<U>(as_const_view(x).shape(), value);
}

// ---- arange -----------------------------------------------------------------------------------

// torch.arange(start, end, step): ceil((end - start) / step) values start + i * step, each
// computed in double and rounded once to T. (PyTorch computes float32 and float16 values in
// float on its vectorised path, so for steps that are not exact in float an element can differ
// from PyTorch's in the last place.)
template <ElementType T = float>
Tensor<T, 1> arange(double start, double end, double step = 1.0) {
  detail::check(std::isfinite(start) && std::isfinite(end), "arange", "start (", start, ") and end (", end,
                ") must be finite");
  detail::check(step != 0 && std::isfinite(step), "arange", "step must be nonzero and finite, got ", step);
  detail::check((step > 0 && end >= start) || (step < 0 && end <= start), "arange", "the bounds [", start, ", ", end,
                ") are inconsistent with the sign of step ", step);
  const double count = std::ceil((end - start) / step);
  detail::check(count < 9.0e15, "arange", "[", start, ", ", end, ") in steps of ", step, " has too many elements");
  const auto n = static_cast<std::int64_t>(count);
  Tensor<T, 1> t({n}, uninitialized);
  for (std::int64_t i = 0; i < n; ++i) t.data()[i] = detail::element_from<T>(start + static_cast<double>(i) * step);
  return t;
}
// torch.arange(end): 0, 1, ..., ceil(end) - 1.
template <ElementType T = float>
Tensor<T, 1> arange(double end) {
  return arange<T>(0.0, end, 1.0);
}

// ---- randn ------------------------------------------------------------------------------------

// Independent N(0, 1) samples in row-major order, from the generator of core/random.hpp seeded
// with `seed`; each is rounded once to T. The same seed gives the same tensor on every platform.
template <ElementType T = float, std::size_t R>
Tensor<T, R> randn(const Shape<R>& shape, std::uint64_t seed) {
  Tensor<T, R> t(shape, uninitialized);
  detail::NormalGenerator gen(seed);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = detail::element_from<T>(gen.next_normal());
  return t;
}
template <ElementType T = float, std::size_t R>
Tensor<T, R> randn(const std::int64_t (&shape)[R], std::uint64_t seed) {
  return randn<T>(detail::shape_of(shape), seed);
}

TESSEL_NAMESPACE_END
