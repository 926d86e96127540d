// tessel/core/maybe_owned_view.hpp — MaybeOwnedView<T, R>: a strided view that may share
// ownership of the memory it views.
//
// What reshape() and contiguous() return (they copy only when they must), and what every view
// operation returns when the memory belongs to a temporary: a chain that starts at an rvalue
// Tensor, or passes through a copy, yields MaybeOwnedViews that all share that block (a
// detail::Storage, see core/storage.hpp), the way PyTorch's views share their Storage:
//
//   auto q = x.transpose(1, 2).contiguous().view(b, s, -1);   // q keeps the copy alive
//   auto parts = x.transpose(0, 1).contiguous().split(2, 0);  // and so does every piece
//
// When it views memory someone else owns (reshape() of a named tensor that needed no copy), it
// holds no storage and is exactly a TensorView; owns_memory() tells which.
//
// The trade-off of the conversions. A MaybeOwnedView converts to a TensorView only from an
// lvalue (a named object). From an rvalue the conversion is deleted, because C++ cannot tell
//   TensorView<float, 2> w = x.transpose(0, 1).contiguous().view(3, 8);   // dangles
// from passing the temporary to a function that takes a TensorView parameter (which would be
// safe). tessel's functions take their operands as `const X&` (the deducing forms in ops/), so
// matmul(x.transpose(0, 1).contiguous(), w) works; a function of yours that takes a TensorView
// needs a named object (auto c = ...contiguous(); f(c);), or `template <TensorLike X> f(const X&)`
// with as_const_view inside, as tessel does. The explicit-<T> forms (matmul<float>(...)) take
// TensorView parameters and so need named objects too.
#pragma once

#include "config.hpp"

#include <cstddef>
#include <type_traits>
#include <utility>

#include "storage.hpp"
#include "tensor_view.hpp"

TESSEL_NAMESPACE_BEGIN

template <class T, std::size_t R>
class TESSEL_GSL_OWNER(T) MaybeOwnedView : public detail::StridedBase<MaybeOwnedView<T, R>, T, R> {
  using Base = detail::StridedBase<MaybeOwnedView<T, R>, T, R>;

 public:
  MaybeOwnedView() = default;
  // A view of memory someone else owns (keeps nothing alive).
  explicit MaybeOwnedView(const TensorView<T, R>& view) : Base(view.data(), view.shape(), view.strides()) {}
  // A view of memory in `storage` (internal: the view operations attach their object's storage).
  MaybeOwnedView(const TensorView<T, R>& view, detail::Storage storage)
      : Base(view.data(), view.shape(), view.strides()), storage_(std::move(storage)) {}
  // Takes over a tensor's memory: the same as std::move(tensor).view().
  explicit MaybeOwnedView(Tensor<std::remove_const_t<T>, R>&& tensor) : MaybeOwnedView(std::move(tensor).view()) {}
  // MaybeOwnedView<T, R> -> MaybeOwnedView<const T, R>, sharing the storage.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  MaybeOwnedView(const MaybeOwnedView<U, R>& other)  // NOLINT: implicit by design
      : Base(other.data(), other.shape(), other.strides()), storage_(other.storage_) {}
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  MaybeOwnedView(MaybeOwnedView<U, R>&& other)  // NOLINT: implicit by design
      : Base(other.data(), other.shape(), other.strides()), storage_(std::move(other.storage_)) {
    other.clear();
  }

  // A moved-from MaybeOwnedView is empty (no elements, no storage), like a moved-from Tensor.
  MaybeOwnedView(const MaybeOwnedView&) = default;
  MaybeOwnedView& operator=(const MaybeOwnedView&) = default;
  MaybeOwnedView(MaybeOwnedView&& other) noexcept : Base(other), storage_(std::move(other.storage_)) { other.clear(); }
  MaybeOwnedView& operator=(MaybeOwnedView&& other) noexcept {
    if (this != &other) {
      static_cast<Base&>(*this) = other;
      storage_ = std::move(other.storage_);
      other.clear();
    }
    return *this;
  }
  ~MaybeOwnedView() = default;

  // True when this object keeps the memory it views alive: it views a copy made by reshape(),
  // contiguous() or clone(), or the memory of a temporary Tensor. False when it views memory
  // owned elsewhere (then it is valid only while that owner is).
  bool owns_memory() const noexcept { return storage_.has_value(); }

  // A plain view, from a named object only (see the trade-off above).
  template <class U>
    requires(std::is_same_v<U, T> || std::is_same_v<U, const T>)
  operator TensorView<U, R>() const& {  // NOLINT: implicit by design
    return TensorView<U, R>(this->data_, this->shape_, this->strides_, detail::unchecked_tag{});
  }
  // Deleted: the temporary and what it keeps alive die at the end of the statement, the plain
  // view would not. Name the object first, or pass it to a function taking `const X&`.
  template <class U>
    requires(std::is_same_v<U, T> || std::is_same_v<U, const T>)
  operator TensorView<U, R>() const&& = delete;

 private:
  template <class, std::size_t>
  friend class detail::ViewOps;
  template <class, std::size_t>
  friend class MaybeOwnedView;

  // Views of a named MaybeOwnedView share its storage (one reference-count increment per view
  // operation, nothing per element), so they stay valid when returned from a function or kept
  // after the original is gone; views of a temporary take its storage over.
  static detail::Storage storage_for(const MaybeOwnedView& v) { return v.storage_; }
  static detail::Storage storage_for(MaybeOwnedView&& v) {
    detail::Storage s = std::move(v.storage_);
    v.clear();
    return s;
  }
  void clear() noexcept {
    this->data_ = nullptr;
    this->shape_ = {};
    this->strides_ = {};
    storage_ = detail::Storage();
  }

  detail::Storage storage_;
};

template <class T, std::size_t R>
struct view_traits<MaybeOwnedView<T, R>> {
  using element_type = T;
  static constexpr std::size_t rank = R;
};

TESSEL_NAMESPACE_END
