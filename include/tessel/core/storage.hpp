// tessel/core/storage.hpp — Storage: shared ownership of one block of tensor memory, and the
// annotations that let a compiler see which tessel types own memory and which only point.
//
// Why a shared handle. A PyTorch view shares its base's Storage (TensorImpl -> Storage, reference
// counted), so `q = x.transpose(1, 2).contiguous().view(b, s, -1)` stays valid after the copy
// that contiguous() made goes out of scope. tessel keeps the pointer-plus-strides TensorView for
// the common case, a view of a named Tensor, and adds a Storage to a view only when the memory it
// views belongs to a temporary: an rvalue Tensor, or the copy that contiguous()/reshape()/clone()
// made. That view type is MaybeOwnedView (core/maybe_owned_view.hpp).
//
// Why type-erased. A chain changes rank (view, select, unsqueeze) and element constness, and
// split() hands out many pieces; every one of them must keep the same block alive. A handle that
// knows only how to free the block fits all of them; moving the temporary owner into each view
// (xtensor's closure types) would give one piece the owner and leave the others dangling.
//
// Cost. Making a block shared allocates one control block; a view operation on an owning view
// copies the handle (one atomic increment, one decrement when the old view dies). Nothing is
// paid per element or per tile: ops/ convert every operand to a plain TensorView (raw pointer)
// before the engine runs, and the engine never sees a handle.
#pragma once

#include "config.hpp"

#include <memory>
#include <utility>

TESSEL_NAMESPACE_BEGIN

// Asks for storage without zero-filling it; for outputs that are about to be overwritten.
struct uninitialized_t {
  explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

namespace detail {

// One block of memory (from tessel's allocator) and the number of objects that keep it alive.
// An empty Storage keeps nothing alive: the view that holds it points into memory someone else
// owns (a named Tensor, a caller's buffer).
class Storage {
 public:
  Storage() = default;
  // Takes the block out of `owner` (a std::unique_ptr with the allocator's deleter). If the
  // control block cannot be allocated, std::bad_alloc is thrown and `owner` still holds the block.
  template <class T, class Deleter>
  explicit Storage(std::unique_ptr<T, Deleter>&& owner) : block_(std::move(owner)) {}

  bool has_value() const noexcept { return block_ != nullptr; }
  // How many objects share the block (0 when empty); for tests and diagnostics.
  long use_count() const noexcept { return block_.use_count(); }

 private:
  std::shared_ptr<void> block_;
};

// The storage of a view that keeps nothing alive (a plain TensorView, a view of a named Tensor).
struct NoStorage {};

}  // namespace detail

// ---- lifetime annotations ----------------------------------------------------------------
// Clang's lifetime analysis (-Wdangling, -Wreturn-stack-address) warns when a gsl::Pointer type
// is made from a gsl::Owner that dies first, e.g. a TensorView returned from a function that
// converted a local Tensor. GCC has no such analysis; the macros are empty there.
#if defined(__clang__) && defined(__has_cpp_attribute)
#if __has_cpp_attribute(gsl::Owner) && __has_cpp_attribute(gsl::Pointer)
#define TESSEL_GSL_OWNER(T) [[gsl::Owner(T)]]
#define TESSEL_GSL_POINTER(T) [[gsl::Pointer(T)]]
#endif
#if __has_cpp_attribute(clang::lifetimebound)
#define TESSEL_LIFETIMEBOUND [[clang::lifetimebound]]
#endif
#endif
#ifndef TESSEL_GSL_OWNER
#define TESSEL_GSL_OWNER(T)
#define TESSEL_GSL_POINTER(T)
#endif
#ifndef TESSEL_LIFETIMEBOUND
#define TESSEL_LIFETIMEBOUND
#endif

TESSEL_NAMESPACE_END
