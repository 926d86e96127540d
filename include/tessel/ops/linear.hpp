// tessel/ops/linear.hpp — torch.nn.functional.linear and its backward (SPEC §9), and a
// Linear layer object like torch.nn.Linear.
//
//   y[..., o] = Σ_k x[..., k] · weight[o, k] + bias[o]          x [..., in], weight [out, in]
//
// One product on the engine, written as the einsum "...k,ok->...o" with a bias: weight is the
// B operand with strides (weight.stride(1), weight.stride(0)) — the transpose is absorbed by
// packing — and the leading dimensions of x are the rows, merged into one wherever their
// strides allow (ops/einsum/contraction.hpp). The bias joins the fp32 sum before its single
// rounding. Backward, each product accumulated in fp32 and rounded once:
//   grad_input  = grad_output · weight            [..., in]    (k = out)
//   grad_weight = grad_outputᵀ · x                [out, in]    (k = every leading position)
//   grad_bias   = Σ grad_output over positions    [out]        (a column sum at memory speed)
// Zero leading positions give an empty y and exact-zero grad_weight and grad_bias.
#pragma once

#include "../core/config.hpp"

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <type_traits>

#include "../core/tensor.hpp"
#include "einsum/contraction.hpp"
#include "einsum/dims.hpp"
#include "einsum/loops.hpp"
#include "operands.hpp"

TESSEL_NAMESPACE_BEGIN

template <class T, std::size_t R>
struct LinearGrads {
  Tensor<T, R> grad_input;                // dL/dx      [..., in]
  Tensor<T, 2> grad_weight;               // dL/dweight [out, in]
  std::optional<Tensor<T, 1>> grad_bias;  // dL/dbias   [out], exactly when with_bias
};

namespace detail {

template <class T, std::size_t R>
void check_linear(std::string_view fn, const TensorView<const T, R>& x, const TensorView<const T, 2>& weight,
                  const std::optional<TensorView<const T, 1>>& bias) {
  check(weight.size(1) == x.size(R - 1), fn, "weight has shape ", weight.shape(), " but x ", x.shape(),
        " needs weight.size(1) == ", x.size(R - 1), " (weight is [out_features, in_features])");
  if (bias)
    check(bias->size(0) == weight.size(0), fn, "bias has shape ", bias->shape(), " but weight ", weight.shape(),
          " needs a bias of shape [", weight.size(0), "]");
}

// x's shape with the last size replaced: the shape of y (last = out) or of grad_input.
template <std::size_t R>
Shape<R> with_last(Shape<R> s, std::int64_t last) {
  s[R - 1] = last;
  return s;
}

template <class T, std::size_t R>
void linear_unchecked(const TensorView<const T, R>& x, const TensorView<const T, 2>& weight,
                      const std::optional<TensorView<const T, 1>>& bias, const TensorView<T, R>& y) {
  ProductDims dims;
  for (std::size_t d = 0; d + 1 < R; ++d) dims.push_back({x.size(d), x.stride(d), 0, y.stride(d), 0});
  dims.push_back({x.size(R - 1), x.stride(R - 1), weight.stride(1), 0, 0});                 // in: summed
  dims.push_back({weight.size(0), 0, weight.stride(0), y.stride(R - 1), bias ? bias->stride(0) : 0});  // out
  multiply<T>(x.data(), weight.data(), bias ? bias->data() : nullptr, y.data(), std::move(dims));
}

}  // namespace detail

// y = x·weightᵀ + bias into a caller's [..., out] view (any strides).
template <ElementType T, std::size_t R>
  requires(R >= 1)
void linear_into(TensorView<const T, R> x, TensorView<const T, 2> weight, std::optional<TensorView<const T, 1>> bias,
                 TensorView<T, R> y) {
  constexpr std::string_view fn = "linear_into";
  detail::check_linear(fn, x, weight, bias);
  detail::check_shape(fn, "y", y, detail::with_last(x.shape(), weight.size(0)), "x and weight give");
  detail::check_writable(fn, "y", y);
  detail::check_no_overlap(fn, "y", y, "x", x);
  detail::check_no_overlap(fn, "y", y, "weight", weight);
  if (bias) detail::check_no_overlap(fn, "y", y, "bias", *bias);
  detail::linear_unchecked<T, R>(x, weight, bias, y);
}

// y [..., out] = x [..., in] · weight [out, in]ᵀ (+ bias [out]).
template <ElementType T, std::size_t R>
  requires(R >= 1)
Tensor<T, R> linear(TensorView<const T, R> x, TensorView<const T, 2> weight,
                    std::optional<TensorView<const T, 1>> bias = std::nullopt) {
  detail::check_linear("linear", x, weight, bias);
  Tensor<T, R> y(detail::with_last(x.shape(), weight.size(0)), uninitialized);
  detail::linear_unchecked<T, R>(x, weight, bias, y.view());
  return y;
}

// The gradients of linear with respect to x, weight and (with_bias) bias, given grad_output
// = dL/dy [..., out].
template <ElementType T, std::size_t R>
  requires(R >= 1)
LinearGrads<T, R> linear_backward(TensorView<const T, R> grad_output, TensorView<const T, R> x,
                                  TensorView<const T, 2> weight, bool with_bias) {
  constexpr std::string_view fn = "linear_backward";
  detail::check_linear<T, R>(fn, x, weight, std::nullopt);
  const std::int64_t out = weight.size(0), in = weight.size(1);
  detail::check_shape(fn, "grad_output", grad_output, detail::with_last(x.shape(), out), "x and weight give y of shape");
  const TensorView<const T, R>& dy = grad_output;
  LinearGrads<T, R> g{Tensor<T, R>(x.shape(), uninitialized), Tensor<T, 2>(Shape<2>{out, in}, uninitialized),
                      std::nullopt};
  using detail::ProductDims;
  {  // grad_input [..., in] = Σ_o dy[..., o] · weight[o, :]
    const auto dx = g.grad_input.view();
    ProductDims dims;
    for (std::size_t d = 0; d + 1 < R; ++d) dims.push_back({x.size(d), dy.stride(d), 0, dx.stride(d), 0});
    dims.push_back({out, dy.stride(R - 1), weight.stride(0), 0, 0});  // summed
    dims.push_back({in, 0, weight.stride(1), dx.stride(R - 1), 0});
    detail::multiply<T>(dy.data(), weight.data(), nullptr, dx.data(), std::move(dims));
  }
  {  // grad_weight [out, in] = Σ over positions dy[p, o] · x[p, i]
    ProductDims dims;
    for (std::size_t d = 0; d + 1 < R; ++d) dims.push_back({x.size(d), dy.stride(d), x.stride(d), 0, 0});  // summed
    dims.push_back({out, dy.stride(R - 1), 0, in, 0});
    dims.push_back({in, 0, x.stride(R - 1), 1, 0});
    detail::multiply<T>(dy.data(), x.data(), nullptr, g.grad_weight.data(), std::move(dims));
  }
  if (with_bias) {  // grad_bias [out] = Σ over positions dy[p, o]
    g.grad_bias.emplace(Shape<1>{out}, uninitialized);
    ProductDims dims;
    for (std::size_t d = 0; d + 1 < R; ++d) dims.push_back({x.size(d), dy.stride(d), 0, 0, 0});  // summed
    dims.push_back({out, dy.stride(R - 1), 0, 1, 0});
    detail::run_loops<T>(dy.data(), nullptr, nullptr, g.grad_bias->data(), std::move(dims));
  }
  return g;
}

// ---------------------------------------------------------------- deducing forms
// Tensors, non-const views and reshape()/contiguous() results deduce T; the bias may be a
// TensorLike, an std::optional of a view, or std::nullopt.

namespace detail {
template <class T, class B>
std::optional<TensorView<const T, 1>> as_optional_bias(const B& bias) {
  if constexpr (std::is_same_v<B, std::nullopt_t>) {
    return std::nullopt;
  } else if constexpr (TensorLike<B>) {
    return as_const_view(bias);
  } else {
    if (!bias) return std::nullopt;
    return as_const_view(*bias);
  }
}
template <class B, class T>
inline constexpr bool is_bias_argument_v = [] {
  if constexpr (std::is_same_v<B, std::nullopt_t>) return true;
  else if constexpr (TensorLike<B>) return rank_of_v<B> == 1 && std::is_same_v<element_of_t<B>, T>;
  else if constexpr (requires(const B& b) { *b; bool(b); }) {
    using V = std::remove_cvref_t<decltype(*std::declval<const B&>())>;
    if constexpr (TensorLike<V>) return rank_of_v<V> == 1 && std::is_same_v<element_of_t<V>, T>;
    else return false;
  } else return false;
}();
template <class X, class W>
inline constexpr bool linear_operands_v = rank_of_v<X> >= 1 && rank_of_v<W> == 2 &&
                                          std::is_same_v<element_of_t<X>, element_of_t<W>>;
}  // namespace detail

template <TensorLike X, TensorLike W>
  requires(detail::linear_operands_v<X, W>)
auto linear(const X& x, const W& weight) {
  return linear<element_of_t<X>, rank_of_v<X>>(as_const_view(x), as_const_view(weight));
}
template <TensorLike X, TensorLike W, class B>
  requires(detail::linear_operands_v<X, W> && detail::is_bias_argument_v<B, element_of_t<X>>)
auto linear(const X& x, const W& weight, const B& bias) {
  using T = element_of_t<X>;
  return linear<T, rank_of_v<X>>(as_const_view(x), as_const_view(weight), detail::as_optional_bias<T>(bias));
}
template <TensorLike X, TensorLike W, class B, TensorLike Y>
  requires(detail::linear_operands_v<X, W> && detail::is_bias_argument_v<B, element_of_t<X>> &&
           rank_of_v<Y> == rank_of_v<X> && std::is_same_v<element_of_t<Y>, element_of_t<X>>)
void linear_into(const X& x, const W& weight, const B& bias, Y&& y) {
  using T = element_of_t<X>;
  linear_into<T, rank_of_v<X>>(as_const_view(x), as_const_view(weight), detail::as_optional_bias<T>(bias),
                               as_mutable_view(y));
}
template <TensorLike G, TensorLike X, TensorLike W>
  requires(detail::linear_operands_v<X, W> && rank_of_v<G> == rank_of_v<X> &&
           std::is_same_v<element_of_t<G>, element_of_t<X>>)
auto linear_backward(const G& grad_output, const X& x, const W& weight, bool with_bias) {
  return linear_backward<element_of_t<X>, rank_of_v<X>>(as_const_view(grad_output), as_const_view(x),
                                                        as_const_view(weight), with_bias);
}

// ---------------------------------------------------------------- the layer

// torch.nn.Linear: weight [out_features, in_features] and an optional bias [out_features],
// both initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)) as nn.Linear's default
// does (kaiming_uniform_ with a = sqrt(5) gives exactly that bound), drawn from a seeded
// generator: the same seed gives the same parameters on every platform. With no input
// features the bias is zero (nn.Linear's bound is then 0). weight and bias are public, as
// the attributes of nn.Linear are: an optimiser updates them in place.
template <ElementType T>
class Linear {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias = true, std::uint64_t seed = 0)
      : weight(checked_shape(in_features, out_features), uninitialized) {
    std::mt19937_64 gen(seed);
    const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    auto draw = [&] {
      const double u = static_cast<double>(gen() >> 11) * 0x1p-53;  // [0, 1), 53 random bits
      const double v = bound * (2.0 * u - 1.0);
      if constexpr (std::is_same_v<T, float>) return static_cast<float>(v);
      else return T(v);
    };
    for (std::int64_t i = 0; i < weight.numel(); ++i) weight.data()[i] = draw();
    if (with_bias) {
      bias.emplace(Shape<1>{out_features}, uninitialized);
      for (std::int64_t i = 0; i < out_features; ++i) bias->data()[i] = draw();
    }
  }
  // A layer holding given parameters (weight [out, in], bias [out]).
  explicit Linear(Tensor<T, 2> w, std::optional<Tensor<T, 1>> b = std::nullopt)
      : weight(std::move(w)), bias(std::move(b)) {
    if (bias)
      detail::check(bias->size(0) == weight.size(0), "Linear", "bias has shape ", bias->shape(), " but weight ",
                    weight.shape(), " needs a bias of shape [", weight.size(0), "]");
  }

  std::int64_t in_features() const { return weight.size(1); }
  std::int64_t out_features() const { return weight.size(0); }

  // y = x·weightᵀ + bias for x [..., in_features].
  template <TensorLike X>
    requires(std::is_same_v<element_of_t<X>, T> && rank_of_v<X> >= 1)
  Tensor<T, rank_of_v<X>> forward(const X& x) const {
    return linear<T, rank_of_v<X>>(as_const_view(x), weight.view(), bias_view());
  }
  // The gradients for grad_output = dL/dy at the input x of forward.
  template <TensorLike G, TensorLike X>
    requires(std::is_same_v<element_of_t<X>, T> && std::is_same_v<element_of_t<G>, T> && rank_of_v<X> >= 1 &&
             rank_of_v<G> == rank_of_v<X>)
  LinearGrads<T, rank_of_v<X>> backward(const G& grad_output, const X& x) const {
    return linear_backward<T, rank_of_v<X>>(as_const_view(grad_output), as_const_view(x), weight.view(),
                                            bias.has_value());
  }

  Tensor<T, 2> weight;
  std::optional<Tensor<T, 1>> bias;

 private:
  std::optional<TensorView<const T, 1>> bias_view() const {
    if (bias) return bias->view();
    return std::nullopt;
  }
  static Shape<2> checked_shape(std::int64_t in, std::int64_t out) {
    detail::check(in >= 0 && out >= 0, "Linear", "in_features (", in, ") and out_features (", out,
                  ") must not be negative");
    return {out, in};
  }
};

TESSEL_NAMESPACE_END
