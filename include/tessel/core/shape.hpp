// tessel/core/shape.hpp — shape and stride arithmetic shared by views, tensors and ops.
//
// Shapes and strides are std::array<std::int64_t, R>; strides count elements, not bytes.
// The rules here are PyTorch's: negative dimensions count from the end, a view exists only
// when strides can express it (compute_view_strides), and "-1" infers one size.
//
// Every size product is checked where a shape enters the library (a Tensor, a TensorView
// built from a pointer, expand, view/reshape, an op's output): a shape is valid only when the
// product of its nonzero sizes fits in an int64, and a layout only when the bytes it spans fit
// in a ptrdiff_t (the most any object can span). So in a valid shape every partial product of
// sizes (b·s of a [b, s, h] tensor, contiguous strides, element offsets) is representable and
// later code may multiply sizes without checking again. PyTorch rejects such shapes too
// ("numel: integer multiplication overflow"); tessel also refuses [2^40, 2^40, 0], whose
// zero-element product hides an overflowing one, because code that multiplies its leading
// sizes would wrap.
#pragma once

#include "config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "error.hpp"

TESSEL_NAMESPACE_BEGIN

template <std::size_t R>
using Shape = std::array<std::int64_t, R>;

namespace detail {

// Marks constructors that skip validation because the caller derived the layout itself.
struct unchecked_tag {};

// ---- checked arithmetic -------------------------------------------------------------------

// a·b, or nothing when the product does not fit in an int64.
constexpr std::optional<std::int64_t> mul_no_overflow(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
constexpr std::optional<std::int64_t> add_no_overflow(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// The number of elements of a shape (sizes >= 0) when tessel can count it, i.e. when the
// product of its nonzero sizes fits in an int64; nothing otherwise.
template <std::size_t R>
constexpr std::optional<std::int64_t> countable_numel(const Shape<R>& shape) {
  std::int64_t nonzero = 1;
  bool empty = false;
  for (auto d : shape) {
    if (d == 0) {
      empty = true;
      continue;
    }
    const auto next = mul_no_overflow(nonzero, d);
    if (!next) return std::nullopt;
    nonzero = *next;
  }
  return empty ? 0 : nonzero;
}

// The number of elements of a shape (sizes >= 0); throws when tessel cannot count it.
template <std::size_t R>
std::int64_t checked_numel(const Shape<R>& shape, std::string_view where) {
  const auto n = countable_numel(shape);
  check(n.has_value(), where, "shape ", shape,
        " has more elements than an int64 can count (its sizes multiply past 2^63 - 1)");
  return *n;
}

// Whether `count` elements of `element_size` bytes fit in one object (at most PTRDIFF_MAX
// bytes, the most pointer arithmetic can span).
constexpr bool fits_in_object(std::int64_t count, std::size_t element_size) {
  constexpr auto max_bytes = static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max());
  return count >= 0 && static_cast<std::uint64_t>(count) <= max_bytes / element_size;
}

// The bytes of `count` elements of `element_size` bytes; throws when they do not fit in one
// object, naming the shape they belong to.
template <std::size_t R>
std::size_t checked_bytes(std::int64_t count, std::size_t element_size, const Shape<R>& shape, std::string_view where) {
  check(fits_in_object(count, element_size), where, "shape ", shape, " has ", count, " elements of ", element_size,
        " bytes: more bytes than one allocation can hold (2^63 - 1)");
  return static_cast<std::size_t>(count) * element_size;
}

// Throws unless a strided layout of `element_size`-byte elements is one tessel can address:
// sizes >= 0, a countable shape (checked_numel), and, when it has elements, a span from its
// first to the end of its last element that fits in a ptrdiff_t. Strides must be >= 0.
template <std::size_t R>
void check_layout(const Shape<R>& shape, const Shape<R>& strides, std::size_t element_size, std::string_view where) {
  for (std::size_t d = 0; d < R; ++d)
    check(shape[d] >= 0, where, "size ", shape[d], " at dimension ", d, " is negative (shape ", shape, ")");
  if (checked_numel(shape, where) == 0) return;
  std::int64_t last = 0;  // offset of the last element, in elements
  bool fits = true;
  for (std::size_t d = 0; d < R && fits; ++d) {
    const auto reach = mul_no_overflow(shape[d] - 1, strides[d]);
    const auto sum = reach ? add_no_overflow(last, *reach) : std::nullopt;
    fits = sum.has_value();
    if (fits) last = *sum;
  }
  fits = fits && last < std::numeric_limits<std::int64_t>::max() && fits_in_object(last + 1, element_size);
  check(fits, where, "shape ", shape, " with strides ", strides, " spans more bytes than any object can (2^63 - 1)");
}

// The number of elements of a shape that was validated when it entered the library.
template <std::size_t R>
constexpr std::int64_t numel_of(const Shape<R>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Row-major strides of a contiguous tensor. Size-0 and size-1 dimensions still get the
// stride a dense layout would give them, as PyTorch does.
// (Computed in unsigned arithmetic: for a shape not yet validated the product may wrap, but
// never with undefined behaviour; such a shape is then rejected by check_layout.)
template <std::size_t R>
constexpr Shape<R> contiguous_strides(const Shape<R>& shape) {
  Shape<R> strides{};
  std::uint64_t running = 1;
  for (std::size_t d = R; d-- > 0;) {
    strides[d] = static_cast<std::int64_t>(running);
    running *= shape[d] > 1 ? static_cast<std::uint64_t>(shape[d]) : 1;
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
  std::optional<std::size_t> infer_at;
  Shape<N> given = requested;  // the sizes other than the -1, for the overflow check
  for (std::size_t d = 0; d < N; ++d) {
    if (requested[d] == -1) {
      check(!infer_at, where, "only one dimension can be inferred (-1), got shape ", requested);
      infer_at = d;
      given[d] = 1;
    } else {
      check(requested[d] >= 0, where, "invalid size ", requested[d], " at dimension ", d, " of shape ", requested);
    }
  }
  const auto counted = countable_numel(given);
  check(counted.has_value(), where, "shape ", requested,
        " has more elements than an int64 can count (its sizes multiply past 2^63 - 1)");
  const std::int64_t known = *counted;
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
      // (Products that would overflow cannot equal a stride; in a layout check_layout
      // accepted they do not occur, but no product here is left unchecked.)
      const auto continued = mul_no_overflow(tensor_numel, chunk_base_stride);
      const bool chunk_ends = tensor_d == 0 || (old_shape[static_cast<std::size_t>(tensor_d - 1)] != 1 &&
                                                old_strides[static_cast<std::size_t>(tensor_d - 1)] != continued);
      if (!chunk_ends) continue;
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[static_cast<std::size_t>(view_d)] == 1)) {
        const auto stride = mul_no_overflow(view_numel, chunk_base_stride);
        if (!stride) return std::nullopt;
        new_strides[static_cast<std::size_t>(view_d)] = *stride;
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
