// tessel/core/shape.hpp — shape and stride arithmetic shared by views, tensors and ops.
//
// Shapes and strides are std::array<std::int64_t, R>; strides count elements, not bytes.
// The rules here are PyTorch's: negative dimensions count from the end, a view exists only
// when strides can express it (compute_view_strides), and "-1" infers one size.
#pragma once

#include "config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "error.hpp"

TESSEL_NAMESPACE_BEGIN

template <std::size_t R>
using Shape = std::array<std::int64_t, R>;

namespace detail {

// Marks constructors that skip validation because the caller derived the layout itself.
struct unchecked_tag {};

template <std::size_t R>
constexpr std::int64_t numel_of(const Shape<R>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Row-major strides of a contiguous tensor. Size-0 and size-1 dimensions still get the
// stride a dense layout would give them, as PyTorch does.
template <std::size_t R>
constexpr Shape<R> contiguous_strides(const Shape<R>& shape) {
  Shape<R> strides{};
  std::int64_t running = 1;
  for (std::size_t d = R; d-- > 0;) {
    strides[d] = running;
    running *= shape[d] > 1 ? shape[d] : 1;
  }
  return strides;
}

// PyTorch's definition: sizes-1 dimensions and empty tensors never break contiguity.
template <std::size_t R>
constexpr bool is_contiguous_layout(const Shape<R>& shape, const Shape<R>& strides) {
  if (numel_of(shape) == 0) return true;
  std::int64_t expected = 1;
  for (std::size_t d = R; d-- > 0;) {
    if (shape[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

// Maps a possibly negative dimension onto [0, rank). `rank` is the rank the dimension indexes
// into (R for most calls, R + 1 for unsqueeze).
inline std::size_t wrap_dim(std::int64_t dim, std::size_t rank, std::string_view where) {
  const auto r = static_cast<std::int64_t>(rank);
  check(dim >= -r && dim < r, where, "dimension ", dim, " is out of range for a tensor of rank ", rank,
        " (expected a value in [", -r, ", ", r - 1, "])");
  return static_cast<std::size_t>(dim < 0 ? dim + r : dim);
}

// Resolves one "-1" in a requested shape against the number of elements (PyTorch's infer_size).
template <std::size_t N, std::size_t R>
Shape<N> infer_shape(Shape<N> requested, std::int64_t numel, const Shape<R>& from, std::string_view where) {
  std::int64_t known = 1;
  std::optional<std::size_t> infer_at;
  for (std::size_t d = 0; d < N; ++d) {
    if (requested[d] == -1) {
      check(!infer_at, where, "only one dimension can be inferred (-1), got shape ", requested);
      infer_at = d;
    } else {
      check(requested[d] >= 0, where, "invalid size ", requested[d], " at dimension ", d, " of shape ", requested);
      known *= requested[d];
    }
  }
  if (infer_at) {
    check(known != 0, where, "cannot infer the -1 in shape ", requested, " for a tensor of shape ", from,
          " because the other sizes multiply to 0");
    check(numel % known == 0, where, "shape ", requested, " is invalid for a tensor of shape ", from, " (", numel,
          " elements)");
    requested[*infer_at] = numel / known;
  } else {
    check(known == numel, where, "shape ", requested, " is invalid for a tensor of shape ", from, " (", numel,
          " elements)");
  }
  return requested;
}

// PyTorch's rule (computeStride in aten/src/ATen/TensorUtils.cpp, re-derived): a view to
// `new_shape` exists iff every run of old dimensions that are laid out as one contiguous
// chunk ("mergeable": stride[d] == size[d+1] * stride[d+1]) is split into new dimensions
// that multiply to exactly that chunk. Returns the new strides, or nothing when strides
// cannot express the view. Both shapes must have the same number of elements.
template <std::size_t N, std::size_t R>
std::optional<Shape<N>> compute_view_strides(const Shape<R>& old_shape, const Shape<R>& old_strides,
                                             const Shape<N>& new_shape) {
  Shape<N> new_strides{};
  if (numel_of(old_shape) == 0) {
    // An empty tensor can take any shape; same shape keeps the strides.
    if constexpr (N == R) {
      if (old_shape == new_shape) return old_strides;
    }
    return contiguous_strides(new_shape);
  }
  if constexpr (R == 0) {
    // A scalar: every new size is 1.
    for (auto& s : new_strides) s = 1;
    return new_strides;
  } else {
    std::int64_t view_d = static_cast<std::int64_t>(N) - 1;
    std::int64_t chunk_base_stride = old_strides[R - 1];
    std::int64_t tensor_numel = 1;
    std::int64_t view_numel = 1;
    for (std::int64_t tensor_d = static_cast<std::int64_t>(R) - 1; tensor_d >= 0; --tensor_d) {
      tensor_numel *= old_shape[static_cast<std::size_t>(tensor_d)];
      // A chunk ends at dimension 0, or where the next-outer dimension does not continue it.
      const bool chunk_ends =
          tensor_d == 0 || (old_shape[static_cast<std::size_t>(tensor_d - 1)] != 1 &&
                            old_strides[static_cast<std::size_t>(tensor_d - 1)] != tensor_numel * chunk_base_stride);
      if (!chunk_ends) continue;
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[static_cast<std::size_t>(view_d)] == 1)) {
        new_strides[static_cast<std::size_t>(view_d)] = view_numel * chunk_base_stride;
        view_numel *= new_shape[static_cast<std::size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[static_cast<std::size_t>(tensor_d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
    if (view_d != -1) return std::nullopt;
    return new_strides;
  }
}

// Builds a Shape<N> from N integer arguments, rejecting non-integral types at compile time.
template <class... I>
constexpr Shape<sizeof...(I)> make_shape(I... sizes) {
  return Shape<sizeof...(I)>{static_cast<std::int64_t>(sizes)...};
}

}  // namespace detail
TESSEL_NAMESPACE_END
