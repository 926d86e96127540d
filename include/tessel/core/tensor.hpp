// tessel/core/tensor.hpp — Tensor<T, R>, the owning contiguous tensor, and MaybeOwnedView,
// what reshape() and contiguous() return.
#pragma once

#include "config.hpp"

#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "allocator.hpp"
#include "tensor_view.hpp"

TESSEL_NAMESPACE_BEGIN

// Asks for storage without zero-filling it; for outputs that are about to be overwritten.
struct uninitialized_t {
  explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

// An owning, contiguous, row-major tensor. Its storage is 64-byte aligned and comes from
// tessel's caching allocator. Copying a Tensor copies its elements; moving is cheap.
template <class T, std::size_t R>
class Tensor {
  static_assert(!std::is_const_v<T>, "Tensor owns its elements: use Tensor<T, R>, not Tensor<const T, R>");

 public:
  using element_type = T;
  using value_type = T;
  static constexpr std::size_t rank = R;

  Tensor() = default;
  // Zero-filled.
  explicit Tensor(Shape<R> shape) : Tensor(shape, uninitialized) {
    if (numel_ > 0) std::memset(static_cast<void*>(data_.get()), 0, bytes());
  }
  // Storage whose contents are unspecified.
  Tensor(Shape<R> shape, uninitialized_t) : shape_(shape) {
    for (std::size_t d = 0; d < R; ++d)
      detail::check(shape_[d] >= 0, "Tensor", "size ", shape_[d], " at dimension ", d, " is negative (shape ", shape_,
                    ")");
    numel_ = detail::checked_numel(shape_, "Tensor");
    const std::size_t bytes = detail::checked_bytes(numel_, sizeof(T), shape_, "Tensor");
    if (numel_ > 0) data_.reset(static_cast<T*>(detail::allocate_bytes(bytes)));
  }
  Tensor(const Tensor& other) : Tensor(other.shape_, uninitialized) {
    if (numel_ > 0) std::memcpy(static_cast<void*>(data_.get()), other.data_.get(), bytes());
  }
  Tensor& operator=(const Tensor& other) {
    if (this != &other) *this = Tensor(other);
    return *this;
  }
  Tensor(Tensor&& other) noexcept
      : shape_(std::exchange(other.shape_, Shape<R>{})), numel_(std::exchange(other.numel_, 0)),
        data_(std::move(other.data_)) {}
  Tensor& operator=(Tensor&& other) noexcept {
    shape_ = std::exchange(other.shape_, Shape<R>{});
    numel_ = std::exchange(other.numel_, 0);
    data_ = std::move(other.data_);
    return *this;
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  const Shape<R>& shape() const { return shape_; }
  Shape<R> strides() const { return detail::contiguous_strides(shape_); }
  std::int64_t size(std::int64_t dim) const { return shape_[detail::wrap_dim(dim, R, "Tensor::size")]; }
  std::int64_t stride(std::int64_t dim) const { return strides()[detail::wrap_dim(dim, R, "Tensor::stride")]; }
  std::int64_t numel() const { return numel_; }
  bool is_contiguous() const { return true; }

  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& operator()(I... index) {
    return view()(index...);
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  const T& operator()(I... index) const {
    return view()(index...);
  }

  // The whole tensor as a view; with sizes, the same as view().view(sizes...).
  TensorView<T, R> view() { return TensorView<T, R>(data(), shape_, strides(), detail::unchecked_tag{}); }
  TensorView<const T, R> view() const {
    return TensorView<const T, R>(data(), shape_, strides(), detail::unchecked_tag{});
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto view(I... sizes) {
    return view().view(sizes...);
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto view(I... sizes) const {
    return view().view(sizes...);
  }
  operator TensorView<T, R>() { return view(); }              // NOLINT: implicit by design
  operator TensorView<const T, R>() const { return view(); }  // NOLINT: implicit by design

  Tensor clone() const { return *this; }

 private:
  std::size_t bytes() const { return static_cast<std::size_t>(numel_) * sizeof(T); }

  struct Release {
    void operator()(T* p) const noexcept { detail::deallocate_bytes(p); }
  };

  Shape<R> shape_{};
  std::int64_t numel_ = 0;
  std::unique_ptr<T, Release> data_;
};

// A TensorView that may own the memory it views: what reshape() and contiguous() return.
// It is a TensorView (it converts to one wherever one is accepted); when the operation had
// to copy, it also keeps that copy alive. owns_copy() says which happened.
template <class T, std::size_t R>
class MaybeOwnedView : public TensorView<T, R> {
 public:
  using TensorView<T, R>::TensorView;
  explicit MaybeOwnedView(TensorView<T, R> v) : TensorView<T, R>(v) {}
  explicit MaybeOwnedView(Tensor<std::remove_const_t<T>, R>&& owned)
      : TensorView<T, R>(), owned_(std::make_shared<Tensor<std::remove_const_t<T>, R>>(std::move(owned))) {
    static_cast<TensorView<T, R>&>(*this) = owned_->view();
  }

  // True when this object holds a copy rather than a view of the original memory.
  bool owns_copy() const { return owned_ != nullptr; }
  const TensorView<T, R>& view() const { return *this; }

 private:
  std::shared_ptr<Tensor<std::remove_const_t<T>, R>> owned_;
};

template <class T, std::size_t R>
struct view_traits<Tensor<T, R>> {
  using element_type = T;
  static constexpr std::size_t rank = R;
};
template <class T, std::size_t R>
struct view_traits<MaybeOwnedView<T, R>> {
  using element_type = T;
  static constexpr std::size_t rank = R;
};

template <class T, std::size_t R>
Tensor<std::remove_const_t<T>, R> TensorView<T, R>::clone() const {
  Tensor<value_type, R> out(shape_, uninitialized);
  out.view().copy_(*this);
  return out;
}

template <class T, std::size_t R>
MaybeOwnedView<T, R> TensorView<T, R>::contiguous() const {
  if (is_contiguous()) return MaybeOwnedView<T, R>(*this);
  return MaybeOwnedView<T, R>(clone());
}

template <class T, std::size_t R>
template <std::size_t N>
MaybeOwnedView<T, N> TensorView<T, R>::reshape(Shape<N> sizes) const {
  const Shape<N> target = detail::infer_shape(sizes, numel(), shape_, "TensorView::reshape");
  if (auto strides = detail::compute_view_strides(shape_, strides_, target))
    return MaybeOwnedView<T, N>(TensorView<T, N>(data_, target, *strides, detail::unchecked_tag{}));
  // Copy in row-major order of the source straight into the new tensor: its memory read as
  // the source's shape is exactly the contiguous copy that then takes the new shape.
  Tensor<value_type, N> out(target, uninitialized);
  TensorView<value_type, R>(out.data(), shape_, detail::contiguous_strides(shape_), detail::unchecked_tag{}).copy_(*this);
  return MaybeOwnedView<T, N>(std::move(out));
}

TESSEL_NAMESPACE_END
