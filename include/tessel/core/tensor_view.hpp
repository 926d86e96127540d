// tessel/core/tensor_view.hpp — TensorView<T, R>: a non-owning, strided view of R dimensions.
//
// A view is a pointer, R sizes and R strides (in elements): trivially copyable, no allocation, no
// reference count, so passing one around costs what passing a pointer and two small arrays costs.
// Its shape operations (core/view_ops.hpp) return new views of the same memory with exactly
// PyTorch's rules; the ones that may have to copy (reshape, contiguous) return a MaybeOwnedView,
// which owns the copy, and clone() returns a Tensor. Getting view() wrong silently is the classic
// bug (splitting a fused QKV projection in the wrong order), so view() either produces the
// strides PyTorch would, or throws.
//
// A TensorView needs the memory it views to stay alive, as a std::span needs its vector. It is
// only ever made from something that outlives the statement: a pointer, a named Tensor, a named
// MaybeOwnedView. Conversions from a temporary Tensor or MaybeOwnedView are deleted (they would
// dangle); tessel's functions take their operands as `const X&` so they accept those temporaries
// anyway (see MaybeOwnedView).
#pragma once

#include "config.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"
#include "overlap.hpp"
#include "shape.hpp"
#include "storage.hpp"
#include "view_ops.hpp"

TESSEL_NAMESPACE_BEGIN

namespace detail {

// What TensorView and MaybeOwnedView share: a pointer, R sizes and R strides (in elements), the
// accessors, and (through ViewOps) the view operations. Constness is shallow, as for std::span:
// a const view still gives T&; TensorView<const T, R> is the read-only view.
template <class Derived, class T, std::size_t R>
class StridedBase : public ViewOps<Derived, R> {
 public:
  using element_type = T;
  using value_type = std::remove_const_t<T>;
  static constexpr std::size_t rank = R;

  T* data() const { return data_; }
  const Shape<R>& shape() const { return shape_; }
  const Shape<R>& size() const { return shape_; }  // torch.Tensor.size()
  const Shape<R>& strides() const { return strides_; }
  std::int64_t size(std::int64_t dim) const { return shape_[view_dim("size", dim, R, shape_)]; }
  std::int64_t stride(std::int64_t dim) const { return strides_[view_dim("stride", dim, R, shape_)]; }
  static constexpr std::size_t dim() { return R; }
  std::int64_t numel() const { return numel_of(shape_); }
  bool is_contiguous() const { return is_contiguous_layout(shape_, strides_); }
  bool empty() const { return numel() == 0; }

  // Element access. Bounds are checked in debug builds (and always by at()).
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& operator()(I... index) const {
#ifdef TESSEL_DEBUG_BOUNDS
    return at(index...);
#else
    return data_[offset_of(make_shape(index...))];
#endif
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& at(I... index) const {
    const auto idx = make_shape(index...);
    for (std::size_t d = 0; d < R; ++d)
      check(idx[d] >= 0 && idx[d] < shape_[d], "at", "index ", idx, " is out of range for shape ", shape_);
    return data_[offset_of(idx)];
  }
  // The only element of a one-element view (torch.Tensor.item()).
  value_type item() const {
    check(numel() == 1, "item", "a tensor of shape ", shape_, " has ", numel(), " elements, not 1");
    return data_[0];
  }
  std::int64_t offset_of(const Shape<R>& idx) const {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < R; ++d) off += idx[d] * strides_[d];
    return off;
  }

 protected:
  StridedBase() = default;
  StridedBase(T* data, const Shape<R>& shape, const Shape<R>& strides)
      : data_(data), shape_(shape), strides_(strides) {}

  // Validation for views made from caller-given sizes and strides: sizes >= 0, strides >= 0
  // (when the caller gave them), and a layout tessel can address (core/shape.hpp).
  void check_layout(const char* where, bool check_strides) const {
    if (check_strides)
      for (std::size_t d = 0; d < R; ++d)
        check(strides_[d] >= 0, where, "stride ", strides_[d], " at dimension ", d, " is negative (strides ",
              strides_, "; negative strides are not supported)");
    detail::check_layout(shape_, strides_, sizeof(T), where);
  }

  TensorView<T, R> plain() const { return TensorView<T, R>(data_, shape_, strides_, unchecked_tag{}); }

  T* data_ = nullptr;
  Shape<R> shape_{};
  Shape<R> strides_{};

 private:
  template <class, std::size_t>
  friend class ViewOps;
};

}  // namespace detail

// A pointer with sizes and strides (SPEC §6). Views of a named Tensor, of a caller's buffer and
// of another TensorView are TensorViews; see core/view_ops.hpp for the operations.
template <class T, std::size_t R>
class TESSEL_GSL_POINTER(T) TensorView : public detail::StridedBase<TensorView<T, R>, T, R> {
  using Base = detail::StridedBase<TensorView<T, R>, T, R>;

 public:
  TensorView() = default;
  // A contiguous row-major view of `shape`.
  TensorView(T* data, Shape<R> shape) : Base(data, shape, detail::contiguous_strides(shape)) {
    this->check_layout("TensorView", false);
  }
  // Any strides, in elements (negative strides are not supported).
  TensorView(T* data, Shape<R> shape, Shape<R> strides) : Base(data, shape, strides) {
    this->check_layout("TensorView", true);
  }
  // TensorView<T, R> -> TensorView<const T, R>.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  TensorView(const TensorView<U, R>& other)  // NOLINT: implicit by design
      : Base(other.data(), other.shape(), other.strides()) {}

  // Internal: strides already validated by the operation that produced them.
  TensorView(T* data, Shape<R> shape, Shape<R> strides, detail::unchecked_tag) : Base(data, shape, strides) {}

 private:
  template <class, std::size_t>
  friend class detail::ViewOps;
  // A view keeps nothing alive, and neither do its views.
  static detail::NoStorage storage_for(const TensorView&) { return {}; }
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

// The read-only view of any TensorLike. Taking `const X&` is what lets tessel's functions accept
// temporaries (matmul(x.transpose(0, 1).contiguous(), w)): the temporary lives until the call
// returns. The view must not be kept beyond the full expression when x is a temporary.
template <TensorLike X>
TensorView<const element_of_t<X>, rank_of_v<X>> as_const_view(const X& x TESSEL_LIFETIMEBOUND) {
  return x;
}
// The writable view of any TensorLike whose elements are not const.
template <TensorLike X>
TensorView<element_of_t<X>, rank_of_v<X>> as_mutable_view(X& x TESSEL_LIFETIMEBOUND) {
  return x;
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

// Whether a source of shape `from` broadcasts to `to` (each dimension equal or 1, aligned at the end).
template <std::size_t S, std::size_t R>
bool broadcasts_to(const Shape<S>& from, const Shape<R>& to) {
  for (std::size_t i = 0; i < S; ++i)
    if (from[i] != 1 && from[i] != to[R - S + i]) return false;
  return true;
}

template <class T, std::size_t R, class U, std::size_t S>
void copy_into(const TensorView<T, R>& dst, const TensorView<U, S>& src) {
  static_assert(!std::is_const_v<T>, "copy_: the destination's elements are const");
  static_assert(S <= R, "copy_: the source cannot have more dimensions than the destination");
  static_assert(is_element_type_v<std::remove_const_t<U>> && is_element_type_v<T>,
                "copy_: both element types must be float, float16 or bfloat16");
  check(!has_internal_overlap(dst), "copy_", "the destination (shape ", dst.shape(), ", strides ", dst.strides(),
        ") has elements that share memory (e.g. an expanded view) and cannot be written");
  check(broadcasts_to(src.shape(), dst.shape()), "copy_", "the source of shape ", src.shape(),
        " cannot be broadcast to the destination's shape ", dst.shape(),
        " (each source dimension must equal the destination's or be 1)");
  const TensorView<U, R> source = ExpandOp{}(src, dst.shape());
  if (memory_overlaps(dst, source)) {
    // Copy through a private buffer so an overlapping source is read before it is written.
    const auto tmp = clone_as<std::remove_const_t<U>>(source);
    copy_into(dst, tmp.view());
    return;
  }
  if constexpr (std::is_same_v<std::remove_const_t<U>, T>) {
    if (dst.is_contiguous() && source.is_contiguous() && dst.numel() > 0) {
      std::memcpy(static_cast<void*>(dst.data()), source.data(), static_cast<std::size_t>(dst.numel()) * sizeof(T));
      return;
    }
  }
  T* out = dst.data();
  const U* in = source.data();
  for_each_offset<R, 2>(dst.shape(), {dst.strides(), source.strides()}, [&](const std::array<std::int64_t, 2>& off) {
    out[off[0]] = convert_element<T>(in[off[1]]);
  });
}

template <class T, std::size_t R, class Source>
void copy_from(const TensorView<T, R>& dst, const Source& src) {
  static_assert(TensorLike<Source>, "copy_: the source must be a TensorView, Tensor or MaybeOwnedView");
  copy_into(dst, as_const_view(src));
}

// A number (rounded once, from double) or an element type (converted once) as element type T.
template <class T, class V>
T element_from(const V& value) {
  if constexpr (is_element_type_v<V>) {
    return convert_element<T>(value);
  } else {
    static_assert(std::is_arithmetic_v<V>, "fill_: the value must be a number, float16 or bfloat16");
    const double v = static_cast<double>(value);
    if constexpr (std::is_same_v<T, float>) return static_cast<float>(v);
    else return T(v);
  }
}

// Writing one value to every element is well-defined even where elements share memory (an
// expanded view), so fill_ accepts such views, as PyTorch's does.
template <class T, std::size_t R, class V>
void fill_with(const TensorView<T, R>& dst, const V& value) {
  static_assert(!std::is_const_v<T>, "fill_: the destination's elements are const");
  const T x = element_from<T>(value);
  T* out = dst.data();
  for_each_offset<R, 1>(dst.shape(), {dst.strides()}, [&](const std::array<std::int64_t, 1>& off) { out[off[0]] = x; });
}

}  // namespace detail

TESSEL_NAMESPACE_END

#include "maybe_owned_view.hpp"  // what reshape() and contiguous() return
#include "tensor.hpp"            // what clone() returns
