// tessel/core/tensor.hpp — Tensor<T, R>, the owning contiguous tensor.
//
// A Tensor owns one block of memory from tessel's caching allocator (64-byte aligned), laid out
// row-major. Copying a Tensor copies its elements; moving is cheap. Every view operation of
// SPEC §6 is a member (core/view_ops.hpp): on a named Tensor it returns a plain TensorView (const
// elements for a const Tensor), on a temporary one a MaybeOwnedView that has taken the memory
// over, so `auto q = make_tensor().transpose(0, 1);` stays valid.
#pragma once

#include "config.hpp"

#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "allocator.hpp"
#include "storage.hpp"
#include "tensor_view.hpp"

TESSEL_NAMESPACE_BEGIN

template <class T, std::size_t R>
class TESSEL_GSL_OWNER(T) Tensor : public detail::ViewOps<Tensor<T, R>, R> {
  static_assert(!std::is_const_v<T>, "Tensor owns its elements: use Tensor<T, R>, not Tensor<const T, R>");
  static_assert(is_element_type_v<T>, "Tensor: the element type must be float, float16 or bfloat16");

 public:
  using element_type = T;
  using value_type = T;
  static constexpr std::size_t rank = R;

  Tensor() = default;
  // Zero-filled (by the calling thread, so its pages go to that thread's NUMA node; ops
  // allocate their outputs uninitialized instead, for the threads that compute them to
  // write first). Counted in memory_stats().zero_filled_bytes.
  explicit Tensor(Shape<R> shape) : Tensor(shape, uninitialized) {
    if (numel_ > 0) {
      std::memset(static_cast<void*>(data_.get()), 0, bytes());
      detail::CachingAllocator::instance().count_zero_fill(bytes());
    }
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
  ~Tensor() = default;

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  const Shape<R>& shape() const { return shape_; }
  const Shape<R>& size() const { return shape_; }  // torch.Tensor.size()
  Shape<R> strides() const { return detail::contiguous_strides(shape_); }
  std::int64_t size(std::int64_t dim) const { return shape_[detail::view_dim("size", dim, R, shape_)]; }
  std::int64_t stride(std::int64_t dim) const { return strides()[detail::view_dim("stride", dim, R, shape_)]; }
  static constexpr std::size_t dim() { return R; }
  std::int64_t numel() const { return numel_; }
  bool is_contiguous() const { return true; }
  bool empty() const { return numel_ == 0; }

  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& operator()(I... index) {
    return plain()(index...);
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  const T& operator()(I... index) const {
    return plain()(index...);
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  T& at(I... index) {
    return plain().at(index...);
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  const T& at(I... index) const {
    return plain().at(index...);
  }
  // The only element of a one-element tensor (torch.Tensor.item()).
  T item() const { return plain().item(); }

  // Views of a named tensor. From a temporary the conversions are deleted (the view would
  // dangle); tessel's functions take `const X&` and accept temporaries (see MaybeOwnedView).
  operator TensorView<T, R>() & { return plain(); }              // NOLINT: implicit by design
  operator TensorView<const T, R>() const& { return plain(); }  // NOLINT: implicit by design
  operator TensorView<T, R>() && = delete;
  operator TensorView<const T, R>() const&& = delete;

 private:
  template <class, std::size_t>
  friend class detail::ViewOps;

  TensorView<T, R> plain() { return TensorView<T, R>(data(), shape_, strides(), detail::unchecked_tag{}); }
  TensorView<const T, R> plain() const {
    return TensorView<const T, R>(data(), shape_, strides(), detail::unchecked_tag{});
  }
  // What views of this tensor must keep alive: nothing for a named one; for a temporary, its
  // memory, which moves into a Storage (this Tensor is left empty, as after a move).
  static detail::NoStorage storage_for(const Tensor&) { return {}; }
  static detail::Storage storage_for(Tensor&& t) {
    detail::Storage storage(std::move(t.data_));  // may throw std::bad_alloc; t is unchanged then
    t.shape_ = Shape<R>{};
    t.numel_ = 0;
    return storage;
  }
  // Deleted: a view of a const temporary Tensor would dangle (its memory cannot be moved out).
  // Name the tensor first, or clone() it.
  static void storage_for(const Tensor&&) = delete;

  std::size_t bytes() const { return static_cast<std::size_t>(numel_) * sizeof(T); }

  struct Release {
    void operator()(T* p) const noexcept { detail::deallocate_bytes(p); }
  };

  Shape<R> shape_{};
  std::int64_t numel_ = 0;
  std::unique_ptr<T, Release> data_;
};

template <class T, std::size_t R>
struct view_traits<Tensor<T, R>> {
  using element_type = T;
  static constexpr std::size_t rank = R;
};

TESSEL_NAMESPACE_END
