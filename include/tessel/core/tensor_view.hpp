// tessel/core/tensor_view.hpp — TensorView<T, R>: a non-owning, strided view of R dimensions.
//
// A view is a pointer, R sizes and R strides (in elements). Every shape operation returns a
// new view of the same memory, with exactly PyTorch's rules; the ones that may have to copy
// (reshape, contiguous) return a MaybeOwnedView, and clone() returns an owning Tensor.
// Getting view() wrong silently is the classic bug (splitting a fused QKV projection in the
// wrong order), so view() either produces the strides PyTorch would, or throws.
#pragma once

#include "config.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"
#include "overlap.hpp"
#include "shape.hpp"

TESSEL_NAMESPACE_BEGIN

template <class T, std::size_t R>
class TensorView;
template <class T, std::size_t R>
class Tensor;
template <class T, std::size_t R>
class MaybeOwnedView;

template <class T, std::size_t R>
class TensorView {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  static constexpr std::size_t rank = R;

  TensorView() = default;
  // A contiguous row-major view of `shape`.
  TensorView(T* data, Shape<R> shape) : data_(data), shape_(shape), strides_(detail::contiguous_strides(shape)) {
    check_sizes("TensorView");
  }
  // Any strides, in elements (negative strides are not supported).
  TensorView(T* data, Shape<R> shape, Shape<R> strides) : data_(data), shape_(shape), strides_(strides) {
    check_sizes("TensorView");
    for (std::size_t d = 0; d < R; ++d)
      detail::check(strides_[d] >= 0, "TensorView", "stride ", strides_[d], " at dimension ", d,
                    " is negative (strides ", strides_, ")");
  }

  // TensorView<T, R> -> TensorView<const T, R>.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  TensorView(const TensorView<U, R>& other)  // NOLINT: implicit by design
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  T* data() const { return data_; }
  const Shape<R>& shape() const { return shape_; }
  const Shape<R>& strides() const { return strides_; }
  std::int64_t size(std::int64_t dim) const { return shape_[detail::wrap_dim(dim, R, "TensorView::size")]; }
  std::int64_t stride(std::int64_t dim) const { return strides_[detail::wrap_dim(dim, R, "TensorView::stride")]; }
  std::int64_t numel() const { return detail::numel_of(shape_); }
  bool is_contiguous() const { return detail::is_contiguous_layout(shape_, strides_); }
  bool empty() const { return numel() == 0; }

  // Element access. Bounds are checked in debug builds (and always by at()).
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& operator()(I... index) const {
#ifdef TESSEL_DEBUG_BOUNDS
    return at(index...);
#else
    return data_[offset_of(detail::make_shape(index...))];
#endif
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& at(I... index) const {
    const auto idx = detail::make_shape(index...);
    for (std::size_t d = 0; d < R; ++d)
      detail::check(idx[d] >= 0 && idx[d] < shape_[d], "TensorView::at", "index ", idx, " is out of range for shape ",
                    shape_);
    return data_[offset_of(idx)];
  }
  std::int64_t offset_of(const Shape<R>& idx) const {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < R; ++d) off += idx[d] * strides_[d];
    return off;
  }

  // ---- shape operations (PyTorch names and rules) ----

  // A view with new sizes; one may be -1. Throws when these strides cannot express it.
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  TensorView<T, sizeof...(I)> view(I... sizes) const {
    return view(detail::make_shape(sizes...));
  }
  template <std::size_t N>
  TensorView<T, N> view(Shape<N> sizes) const {
    const Shape<N> target = detail::infer_shape(sizes, numel(), shape_, "TensorView::view");
    const auto strides = detail::compute_view_strides(shape_, strides_, target);
    detail::check(strides.has_value(), "TensorView::view", "cannot view a tensor of shape ", shape_, " and strides ",
                  strides_, " as shape ", target,
                  ": its memory is not laid out as that shape needs (use reshape(), which copies, or contiguous() first)");
    return TensorView<T, N>(data_, target, *strides, detail::unchecked_tag{});
  }
  // A view exactly when view() would succeed; otherwise a contiguous copy it owns.
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  MaybeOwnedView<T, sizeof...(I)> reshape(I... sizes) const {
    return reshape(detail::make_shape(sizes...));
  }
  template <std::size_t N>
  MaybeOwnedView<T, N> reshape(Shape<N> sizes) const;

  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  TensorView permute(I... dims) const {
    const auto order = detail::make_shape(dims...);
    Shape<R> shape{}, strides{};
    std::array<bool, R> seen{};
    for (std::size_t d = 0; d < R; ++d) {
      const std::size_t src = detail::wrap_dim(order[d], R, "TensorView::permute");
      detail::check(!seen[src], "TensorView::permute", "dimension ", order[d], " appears twice in ", order);
      seen[src] = true;
      shape[d] = shape_[src];
      strides[d] = strides_[src];
    }
    return TensorView(data_, shape, strides, detail::unchecked_tag{});
  }

  TensorView transpose(std::int64_t dim0, std::int64_t dim1) const {
    const std::size_t a = detail::wrap_dim(dim0, R, "TensorView::transpose");
    const std::size_t b = detail::wrap_dim(dim1, R, "TensorView::transpose");
    Shape<R> shape = shape_, strides = strides_;
    std::swap(shape[a], shape[b]);
    std::swap(strides[a], strides[b]);
    return TensorView(data_, shape, strides, detail::unchecked_tag{});
  }

  // Elements [start, start + length) of `dim`; a negative start counts from the end.
  TensorView narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const {
    const std::size_t d = detail::wrap_dim(dim, R, "TensorView::narrow");
    const std::int64_t size = shape_[d];
    detail::check(start >= -size && start <= size, "TensorView::narrow", "start ", start,
                  " is out of range for dimension ", dim, " of size ", size, " (shape ", shape_, ")");
    if (start < 0) start += size;
    detail::check(length >= 0 && start + length <= size, "TensorView::narrow", "start (", start, ") + length (",
                  length, ") exceeds dimension ", dim, " of size ", size, " (shape ", shape_, ")");
    Shape<R> shape = shape_;
    shape[d] = length;
    return TensorView(data_ + (length > 0 ? start * strides_[d] : 0), shape, strides_, detail::unchecked_tag{});
  }

  // Removes `dim` by fixing it at `index` (negative counts from the end).
  TensorView<T, R - 1> select(std::int64_t dim, std::int64_t index) const
    requires(R >= 1)
  {
    const std::size_t d = detail::wrap_dim(dim, R, "TensorView::select");
    const std::int64_t size = shape_[d];
    detail::check(index >= -size && index < size, "TensorView::select", "index ", index,
                  " is out of range for dimension ", dim, " of size ", size, " (shape ", shape_, ")");
    if (index < 0) index += size;
    Shape<R - 1> shape{}, strides{};
    for (std::size_t i = 0, j = 0; i < R; ++i) {
      if (i == d) continue;
      shape[j] = shape_[i];
      strides[j] = strides_[i];
      ++j;
    }
    return TensorView<T, R - 1>(data_ + index * strides_[d], shape, strides, detail::unchecked_tag{});
  }

  // Pieces of `split_size` along `dim`; the last may be smaller (torch.split).
  std::vector<TensorView> split(std::int64_t split_size, std::int64_t dim = 0) const {
    const std::size_t d = detail::wrap_dim(dim, R, "TensorView::split");
    const std::int64_t size = shape_[d];
    detail::check(split_size > 0 || (split_size == 0 && size == 0), "TensorView::split", "split_size ", split_size,
                  " must be positive for dimension ", dim, " of size ", size);
    std::vector<TensorView> pieces;
    const std::int64_t count = split_size == 0 ? 1 : std::max<std::int64_t>((size + split_size - 1) / split_size, 1);
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t start = i * split_size;
      pieces.push_back(narrow(static_cast<std::int64_t>(d), start, std::min(split_size, size - start)));
    }
    return pieces;
  }
  // Pieces of the given sizes, which must add up to the size of `dim` (torch.split with a list).
  std::vector<TensorView> split(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) const {
    const std::size_t d = detail::wrap_dim(dim, R, "TensorView::split");
    std::int64_t total = 0;
    for (auto s : sizes) {
      detail::check(s >= 0, "TensorView::split", "split sizes ", sizes, " contain a negative size");
      detail::check(detail::add_no_overflow(total, s).has_value(), "TensorView::split", "split sizes ", sizes,
                    " add up to more than 2^63 - 1");
      total += s;
    }
    detail::check(total == shape_[d], "TensorView::split", "split sizes ", sizes, " add up to ", total,
                  " but dimension ", dim, " of shape ", shape_, " has size ", shape_[d]);
    std::vector<TensorView> pieces;
    std::int64_t start = 0;
    for (auto s : sizes) {
      pieces.push_back(narrow(static_cast<std::int64_t>(d), start, s));
      start += s;
    }
    return pieces;
  }
  // torch.chunk: pieces of ceil(size / chunks); may return fewer than `chunks` pieces.
  std::vector<TensorView> chunk(std::int64_t chunks, std::int64_t dim = 0) const {
    detail::check(chunks > 0, "TensorView::chunk", "chunks must be positive, got ", chunks);
    const std::size_t d = detail::wrap_dim(dim, R, "TensorView::chunk");
    const std::int64_t size = shape_[d];
    if (size == 0) return split(std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), dim);
    return split((size + chunks - 1) / chunks, dim);
  }

  // Inserts a dimension of size 1 at `dim` (in [-(R+1), R]).
  TensorView<T, R + 1> unsqueeze(std::int64_t dim) const {
    const std::size_t d = detail::wrap_dim(dim, R + 1, "TensorView::unsqueeze");
    Shape<R + 1> shape{}, strides{};
    for (std::size_t i = 0, j = 0; i < R + 1; ++i) {
      if (i == d) {
        shape[i] = 1;
        strides[i] = j < R ? shape_[j] * strides_[j] : 1;
      } else {
        shape[i] = shape_[j];
        strides[i] = strides_[j];
        ++j;
      }
    }
    return TensorView<T, R + 1>(data_, shape, strides, detail::unchecked_tag{});
  }

  // Broadcasts size-1 dimensions (stride 0) and prepends new ones; -1 keeps a size.
  template <class... I>
    requires(sizeof...(I) >= R && (std::is_integral_v<I> && ...))
  TensorView<T, sizeof...(I)> expand(I... sizes) const {
    return expand(detail::make_shape(sizes...));
  }
  template <std::size_t N>
    requires(N >= R)
  TensorView<T, N> expand(Shape<N> sizes) const {
    Shape<N> shape{}, strides{};
    constexpr std::size_t lead = N - R;
    for (std::size_t i = 0; i < N; ++i) {
      const std::int64_t want = sizes[i];
      if (i < lead) {
        detail::check(want >= 0, "TensorView::expand", "the new leading dimension ", i, " of ", sizes,
                      " must have a non-negative size (-1 is only allowed for existing dimensions)");
        shape[i] = want;
        strides[i] = 0;
        continue;
      }
      const std::int64_t have = shape_[i - lead];
      if (want == -1 || want == have) {
        shape[i] = have;
        strides[i] = strides_[i - lead];
      } else {
        detail::check(have == 1 && want >= 0, "TensorView::expand", "cannot expand shape ", shape_, " to ", sizes,
                      ": dimension ", i, " has size ", have, " (only size-1 dimensions can be expanded)");
        shape[i] = want;
        strides[i] = 0;
      }
    }
    detail::checked_numel(shape, "TensorView::expand");
    return TensorView<T, N>(data_, shape, strides, detail::unchecked_tag{});
  }

  // The same memory when already contiguous, otherwise a contiguous copy it owns.
  MaybeOwnedView<T, R> contiguous() const;
  // Always a contiguous copy.
  Tensor<value_type, R> clone() const;

  // Copies `src` into this view, element by element (src is broadcast to this shape, as
  // PyTorch's copy_ does, and converted between element types with one rounding).
  template <class U, std::size_t S>
  const TensorView& copy_(const TensorView<U, S>& src) const
    requires(!std::is_const_v<T>);

  // Internal: strides already validated by the operation that produced them.
  TensorView(T* data, Shape<R> shape, Shape<R> strides, detail::unchecked_tag)
      : data_(data), shape_(shape), strides_(strides) {}

 private:
  void check_sizes(const char* where) const { detail::check_layout(shape_, strides_, sizeof(T), where); }

  T* data_ = nullptr;
  Shape<R> shape_{};
  Shape<R> strides_{};
};

// ---- what functions accept: views, tensors and the objects reshape/contiguous return ----

template <class X>
struct view_traits {};
template <class T, std::size_t R>
struct view_traits<TensorView<T, R>> {
  using element_type = T;
  static constexpr std::size_t rank = R;
};

// Anything that converts to a TensorView: TensorView, Tensor, MaybeOwnedView.
template <class X>
concept TensorLike = requires { view_traits<std::remove_cvref_t<X>>::rank; };

template <class X>
using element_of_t = std::remove_const_t<typename view_traits<std::remove_cvref_t<X>>::element_type>;
template <class X>
inline constexpr std::size_t rank_of_v = view_traits<std::remove_cvref_t<X>>::rank;

// The read-only view of any TensorLike.
template <TensorLike X>
TensorView<const element_of_t<X>, rank_of_v<X>> as_const_view(const X& x) {
  if constexpr (requires { x.view(); }) return x.view();
  else return x;
}
// The writable view of any TensorLike whose elements are not const.
template <TensorLike X>
TensorView<element_of_t<X>, rank_of_v<X>> as_mutable_view(X& x) {
  if constexpr (requires { x.view(); }) return x.view();
  else return x;
}

namespace detail {

// Calls f(offsets...) for every index of `shape`, with one element offset per stride set.
// The innermost dimension runs as a plain loop so simple copies vectorise.
template <std::size_t R, std::size_t K, class F>
void for_each_offset(const Shape<R>& shape, const std::array<Shape<R>, K>& strides, F&& f) {
  if (numel_of(shape) == 0) return;
  if constexpr (R == 0) {
    std::array<std::int64_t, K> off{};
    f(off);
  } else {
    Shape<R> idx{};
    std::array<std::int64_t, K> base{};
    const std::int64_t inner = shape[R - 1];
    while (true) {
      std::array<std::int64_t, K> off = base;
      for (std::int64_t i = 0; i < inner; ++i) {
        f(off);
        for (std::size_t k = 0; k < K; ++k) off[k] += strides[k][R - 1];
      }
      // advance the outer index (odometer)
      std::size_t d = R - 1;
      while (true) {
        if (d == 0) return;
        --d;
        ++idx[d];
        for (std::size_t k = 0; k < K; ++k) base[k] += strides[k][d];
        if (idx[d] < shape[d]) break;
        for (std::size_t k = 0; k < K; ++k) base[k] -= strides[k][d] * shape[d];
        idx[d] = 0;
      }
    }
  }
}

template <class To, class From>
constexpr To convert_element(From v) {
  if constexpr (std::is_same_v<To, std::remove_const_t<From>>) return v;
  else return from_float<To>(to_float(v));
}

}  // namespace detail

template <class T, std::size_t R>
template <class U, std::size_t S>
const TensorView<T, R>& TensorView<T, R>::copy_(const TensorView<U, S>& src) const
  requires(!std::is_const_v<T>)
{
  static_assert(S <= R, "copy_: the source cannot have more dimensions than the destination");
  static_assert(is_element_type_v<std::remove_const_t<U>> && is_element_type_v<value_type>,
                "copy_: both element types must be float, float16 or bfloat16");
  detail::check(!detail::has_internal_overlap(*this), "TensorView::copy_",
                "the destination (shape ", shape_, ", strides ", strides_,
                ") has elements that share memory (e.g. an expanded view) and cannot be written");
  TensorView<U, R> source = src.expand(shape_);  // throws when not broadcastable
  if (detail::memory_overlaps(*this, source)) {
    // Copy through a private buffer so an overlapping source is read before it is written.
    auto tmp = source.clone();
    return copy_(tmp.view());
  }
  T* dst = data_;
  const U* s = source.data();
  detail::for_each_offset<R, 2>(shape_, {strides_, source.strides()}, [&](const std::array<std::int64_t, 2>& off) {
    dst[off[0]] = detail::convert_element<value_type>(s[off[1]]);
  });
  return *this;
}

TESSEL_NAMESPACE_END

#include "tensor.hpp"  // Tensor and MaybeOwnedView complete reshape(), contiguous() and clone()
