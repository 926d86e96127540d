// tessel/core/view_ops.hpp — the view operations of SPEC §6 (view, reshape, permute, transpose,
// narrow, select, split, chunk, unsqueeze, expand, contiguous, clone, copy_, fill_, to), written
// once for the three kinds of tensor object: TensorView, MaybeOwnedView and Tensor.
//
//   detail::*Op   PyTorch's rule for one operation, as arithmetic on a plain view (pointer,
//                 sizes, strides). Shapes, strides and storage offsets are those PyTorch 1.13
//                 gives; tests/test_views_pytorch.cpp replays chains recorded from PyTorch itself.
//   ViewOps       the members (x.transpose(0, 1), ...) that all three classes inherit. A member
//                 applies the rule to its object's plain view, then lets ownership follow the
//                 object (ViewOps::derive says how).
#pragma once

#include "config.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dtype.hpp"
#include "error.hpp"
#include "shape.hpp"
#include "storage.hpp"

TESSEL_NAMESPACE_BEGIN

template <class T, std::size_t R>
class TensorView;
template <class T, std::size_t R>
class MaybeOwnedView;
template <class T, std::size_t R>
class Tensor;

namespace detail {

// Defined in tensor_view.hpp: element-wise copy (broadcasting, converting) and fill.
template <class T, std::size_t R, class Source>
void copy_from(const TensorView<T, R>& dst, const Source& src);
template <class T, std::size_t R, class V>
void fill_with(const TensorView<T, R>& dst, const V& value);

// Maps a possibly negative dimension argument of `op` onto [0, positions). `positions` is R for
// most operations, R + 1 for unsqueeze (it names a gap), and 1 for transpose of a 0-d tensor
// (PyTorch lets it name dimension 0 or -1). The message states the tensor's real rank and shape.
template <std::size_t R>
std::size_t view_dim(std::string_view op, std::int64_t dim, std::size_t positions, const Shape<R>& shape) {
  const auto p = static_cast<std::int64_t>(positions);
  if (p == 0) fail(op, "dimension ", dim, " given for a tensor of rank 0, which has no dimensions");
  check(dim >= -p && dim < p, op, "dimension ", dim, " is out of range for a tensor of rank ", R, " (shape ", shape,
        "): expected a value in [", -p, ", ", p - 1, "]");
  return static_cast<std::size_t>(dim < 0 ? dim + p : dim);
}

// p + elements for a view that may be empty. The storage offset of an empty view can lie past
// the end of its memory (PyTorch keeps it: narrow(0, 3, 0) of 3 rows has offset 3 · stride), and
// an empty Tensor's pointer is null; such a pointer is never dereferenced, and address arithmetic
// keeps forming it well-defined. A non-empty result's first element exists, so it gets ordinary
// pointer arithmetic (which keeps the compiler's aliasing knowledge in the loops that use it).
template <class T>
T* advance(T* p, std::int64_t elements, bool result_is_empty) {
  if (!result_is_empty) return p + elements;
  return reinterpret_cast<T*>(reinterpret_cast<std::uintptr_t>(p) +
                              static_cast<std::uintptr_t>(elements) * sizeof(T));
}

template <class U, class T, std::size_t R>
Tensor<U, R> clone_as(const TensorView<T, R>& v) {
  Tensor<U, R> out(v.shape(), uninitialized);
  copy_from(out.view(), v);
  return out;
}

// ---- one function object per operation: (plain view, arguments) -> result ----------------

struct IdentityOp {
  template <class T, std::size_t R>
  TensorView<T, R> operator()(const TensorView<T, R>& v) const {
    return v;
  }
};

// A view with new sizes (one may be -1), or shape_error when these strides cannot express it.
struct ViewOp {
  template <class T, std::size_t R, std::size_t N>
  TensorView<T, N> operator()(const TensorView<T, R>& v, const Shape<N>& sizes) const {
    const Shape<N> target = infer_shape(sizes, v.numel(), v.shape(), "view");
    const auto strides = compute_view_strides(v.shape(), v.strides(), target);
    check(strides.has_value(), "view", "cannot view a tensor of shape ", v.shape(), " and strides ", v.strides(),
          " as shape ", target,
          ": its memory is not laid out as that shape needs (use reshape(), which copies, or contiguous() first)");
    return TensorView<T, N>(v.data(), target, *strides, unchecked_tag{});
  }
};

// A view exactly when view() would succeed; otherwise a contiguous copy that the result owns.
struct ReshapeOp {
  template <class T, std::size_t R, std::size_t N>
  MaybeOwnedView<T, N> operator()(const TensorView<T, R>& v, const Shape<N>& sizes) const {
    const Shape<N> target = infer_shape(sizes, v.numel(), v.shape(), "reshape");
    if (auto strides = compute_view_strides(v.shape(), v.strides(), target))
      return MaybeOwnedView<T, N>(TensorView<T, N>(v.data(), target, *strides, unchecked_tag{}));
    // Copy in row-major order of the source straight into the new tensor: its memory read as
    // the source's shape is exactly the contiguous copy that then takes the new shape.
    using V = std::remove_const_t<T>;
    Tensor<V, N> out(target, uninitialized);
    copy_from(TensorView<V, R>(out.data(), v.shape(), contiguous_strides(v.shape()), unchecked_tag{}), v);
    return MaybeOwnedView<T, N>(std::move(out));
  }
};

struct PermuteOp {
  template <class T, std::size_t R>
  TensorView<T, R> operator()(const TensorView<T, R>& v, const Shape<R>& order) const {
    Shape<R> shape{}, strides{};
    std::array<bool, R> seen{};
    for (std::size_t d = 0; d < R; ++d) {
      const std::size_t src = view_dim("permute", order[d], R, v.shape());
      check(!seen[src], "permute", "dimension ", order[d], " appears twice in ", order, " (shape ", v.shape(), ")");
      seen[src] = true;
      shape[d] = v.shape()[src];
      strides[d] = v.strides()[src];
    }
    return TensorView<T, R>(v.data(), shape, strides, unchecked_tag{});
  }
};

struct TransposeOp {
  template <class T, std::size_t R>
  TensorView<T, R> operator()(const TensorView<T, R>& v, std::int64_t dim0, std::int64_t dim1) const {
    // A 0-d tensor: PyTorch wraps dimensions as if it had one, so transpose(0, 0) and
    // transpose(-1, 0) are valid and change nothing.
    constexpr std::size_t positions = R == 0 ? 1 : R;
    const std::size_t a = view_dim("transpose", dim0, positions, v.shape());
    const std::size_t b = view_dim("transpose", dim1, positions, v.shape());
    if constexpr (R == 0) {
      return v;
    } else {
      Shape<R> shape = v.shape(), strides = v.strides();
      std::swap(shape[a], shape[b]);
      std::swap(strides[a], strides[b]);
      return TensorView<T, R>(v.data(), shape, strides, unchecked_tag{});
    }
  }
};

// Elements [start, start + length) of `dim`. As in PyTorch, start may be negative (counted from
// the end) or equal to the size (an empty piece at the end), and the result's storage offset is
// start · stride even when it is empty.
struct NarrowOp {
  template <class T, std::size_t R>
  TensorView<T, R> operator()(const TensorView<T, R>& v, std::int64_t dim, std::int64_t start,
                              std::int64_t length) const {
    const std::size_t d = view_dim("narrow", dim, R, v.shape());
    const std::int64_t size = v.shape()[d];
    if (start != size) {
      // PyTorch wraps start like a dimension of `size` positions (at least one).
      const std::int64_t positions = std::max<std::int64_t>(size, 1);
      check(start >= -positions && start < positions, "narrow", "start ", start, " is out of range for dimension ",
            dim, " of size ", size, " (shape ", v.shape(), "): expected a value in [", -positions, ", ", size, "]");
      if (start < 0) start += positions;
    }
    check(length >= 0 && start <= size - length, "narrow", "start (", start, ") + length (", length,
          ") exceeds dimension ", dim, " of size ", size, " (shape ", v.shape(), ")");
    Shape<R> shape = v.shape();
    shape[d] = length;
    return TensorView<T, R>(advance(v.data(), start * v.strides()[d], numel_of(shape) == 0), shape, v.strides(),
                            unchecked_tag{});
  }
};

// Removes `dim` by fixing it at `index` (negative counts from the end).
struct SelectOp {
  template <class T, std::size_t R>
  TensorView<T, R - 1> operator()(const TensorView<T, R>& v, std::int64_t dim, std::int64_t index) const {
    const std::size_t d = view_dim("select", dim, R, v.shape());
    const std::int64_t size = v.shape()[d];
    check(index >= -size && index < size, "select", "index ", index, " is out of range for dimension ", dim,
          " of size ", size, " (shape ", v.shape(), ")");
    if (index < 0) index += size;
    Shape<R - 1> shape{}, strides{};
    for (std::size_t i = 0, j = 0; i < R; ++i) {
      if (i == d) continue;
      shape[j] = v.shape()[i];
      strides[j] = v.strides()[i];
      ++j;
    }
    return TensorView<T, R - 1>(advance(v.data(), index * v.strides()[d], numel_of(shape) == 0), shape, strides,
                                unchecked_tag{});
  }
};

// Pieces given by their sizes along `dim` (torch.split with a list). Used by the other splits.
struct SplitSizesOp {
  template <class T, std::size_t R>
  std::vector<TensorView<T, R>> operator()(const TensorView<T, R>& v, const std::vector<std::int64_t>& sizes,
                                           std::int64_t dim) const {
    const std::size_t d = view_dim("split", dim, R, v.shape());
    std::int64_t total = 0;
    for (auto s : sizes) {
      check(s >= 0, "split", "split sizes ", sizes, " contain a negative size");
      check(add_no_overflow(total, s).has_value(), "split", "split sizes ", sizes, " add up to more than 2^63 - 1");
      total += s;
    }
    check(total == v.shape()[d], "split", "split sizes ", sizes, " add up to ", total, " but dimension ", dim,
          " of shape ", v.shape(), " has size ", v.shape()[d]);
    std::vector<TensorView<T, R>> pieces;
    pieces.reserve(sizes.size());
    std::int64_t start = 0;
    for (auto s : sizes) {
      pieces.push_back(NarrowOp{}(v, static_cast<std::int64_t>(d), start, s));
      start += s;
    }
    return pieces;
  }
};

// Pieces of `split_size` along `dim`, the last one smaller when the size does not divide
// (torch.split with an integer; a split_size of 0 is allowed only for a dimension of size 0).
struct SplitOp {
  template <class T, std::size_t R>
  std::vector<TensorView<T, R>> operator()(const TensorView<T, R>& v, std::int64_t split_size,
                                           std::int64_t dim) const {
    const std::size_t d = view_dim("split", dim, R, v.shape());
    const std::int64_t size = v.shape()[d];
    check(split_size > 0 || (split_size == 0 && size == 0), "split", "split_size ", split_size,
          " must be positive for dimension ", dim, " of size ", size, " (shape ", v.shape(), ")");
    const std::int64_t count = split_size == 0 ? 1 : std::max<std::int64_t>((size + split_size - 1) / split_size, 1);
    std::vector<std::int64_t> sizes(static_cast<std::size_t>(count), split_size);
    sizes.back() = size - split_size * (count - 1);
    return SplitSizesOp{}(v, sizes, static_cast<std::int64_t>(d));
  }
};

// torch.chunk: pieces of ceil(size / chunks), so there may be fewer than `chunks`; a dimension of
// size 0 gives `chunks` empty pieces.
struct ChunkOp {
  template <class T, std::size_t R>
  std::vector<TensorView<T, R>> operator()(const TensorView<T, R>& v, std::int64_t chunks, std::int64_t dim) const {
    check(chunks > 0, "chunk", "chunks must be positive, got ", chunks, " (shape ", v.shape(), ")");
    const std::size_t d = view_dim("chunk", dim, R, v.shape());
    const std::int64_t size = v.shape()[d];
    if (size == 0) return SplitSizesOp{}(v, std::vector<std::int64_t>(static_cast<std::size_t>(chunks), 0), dim);
    return SplitOp{}(v, (size + chunks - 1) / chunks, dim);
  }
};

// Inserts a dimension of size 1 at `dim` (in [-(R+1), R]). Its stride is what a dense layout
// would give it (PyTorch: size · stride of the dimension it precedes, 1 at the end).
struct UnsqueezeOp {
  template <class T, std::size_t R>
  TensorView<T, R + 1> operator()(const TensorView<T, R>& v, std::int64_t dim) const {
    const std::size_t d = view_dim("unsqueeze", dim, R + 1, v.shape());
    Shape<R + 1> shape{}, strides{};
    for (std::size_t i = 0, j = 0; i < R + 1; ++i) {
      if (i == d) {
        shape[i] = 1;
        strides[i] = j < R ? v.shape()[j] * v.strides()[j] : 1;
      } else {
        shape[i] = v.shape()[j];
        strides[i] = v.strides()[j];
        ++j;
      }
    }
    return TensorView<T, R + 1>(v.data(), shape, strides, unchecked_tag{});
  }
};

// Broadcasts size-1 dimensions (stride 0) and prepends new ones; -1 keeps a size. Strides as
// PyTorch's inferExpandGeometry: a broadcast dimension gets 0; a new leading dimension that
// stays 1 gets size · stride of the dimension after it (ones(3).expand(2, 1, 3) has strides
// (0, 3, 1)), and 0 for a 0-d tensor, which has no dimension after it.
struct ExpandOp {
  template <class T, std::size_t R, std::size_t N>
  TensorView<T, N> operator()(const TensorView<T, R>& v, const Shape<N>& sizes) const {
    static_assert(N >= R, "expand: the new shape cannot have fewer dimensions than the tensor");
    constexpr std::size_t lead = N - R;
    Shape<N> shape{}, strides{};
    for (std::size_t i = N; i-- > 0;) {
      const bool existing = i >= lead;
      std::int64_t size = existing ? v.shape()[i - lead] : 1;
      std::int64_t stride = existing ? v.strides()[i - lead] : (i + 1 < N ? shape[i + 1] * strides[i + 1] : 0);
      std::int64_t want = sizes[i];
      if (want == -1) {
        check(existing, "expand", "the new leading dimension ", i, " of ", sizes, " cannot be -1 (shape ", v.shape(),
              "): -1 keeps the size of an existing dimension");
        want = size;
      }
      check(want >= 0, "expand", "invalid size ", want, " at dimension ", i, " of ", sizes, " (shape ", v.shape(),
            ")");
      if (want != size) {
        check(size == 1, "expand", "cannot expand shape ", v.shape(), " to ", sizes, ": dimension ", i, " has size ",
              size, " (only size-1 dimensions can be expanded)");
        size = want;
        stride = 0;
      }
      shape[i] = size;
      strides[i] = stride;
    }
    checked_numel(shape, "expand");
    return TensorView<T, N>(v.data(), shape, strides, unchecked_tag{});
  }
};

// The same memory when already contiguous, otherwise a contiguous copy that the result owns.
struct ContiguousOp {
  template <class T, std::size_t R>
  MaybeOwnedView<T, R> operator()(const TensorView<T, R>& v) const {
    if (v.is_contiguous()) return MaybeOwnedView<T, R>(v);
    return MaybeOwnedView<T, R>(clone_as<std::remove_const_t<T>>(v));
  }
};

// ---- attaching ownership to a result ----------------------------------------------------------

// A result of an object that keeps nothing alive stays as it is.
template <class X>
std::remove_cvref_t<X> share(NoStorage, X&& result) {
  return std::forward<X>(result);
}
// A result of an object that shares a block carries the block too.
template <class T, std::size_t N>
MaybeOwnedView<T, N> share(Storage storage, const TensorView<T, N>& result) {
  return MaybeOwnedView<T, N>(result, std::move(storage));
}
template <class T, std::size_t N>
std::vector<MaybeOwnedView<T, N>> share(Storage storage, const std::vector<TensorView<T, N>>& pieces) {
  std::vector<MaybeOwnedView<T, N>> shared;
  shared.reserve(pieces.size());
  for (const auto& piece : pieces) shared.emplace_back(piece, storage);
  return shared;
}
// reshape()/contiguous(): a copy owns its own block; a view gets the object's.
template <class T, std::size_t N>
MaybeOwnedView<T, N> share(Storage storage, MaybeOwnedView<T, N>&& result) {
  if (result.owns_memory()) return std::move(result);
  const TensorView<T, N> plain = result;
  return MaybeOwnedView<T, N>(plain, std::move(storage));
}

// ---- the members ------------------------------------------------------------------------------

template <class X>
inline constexpr bool is_tensor_v = false;
template <class T, std::size_t R>
inline constexpr bool is_tensor_v<Tensor<T, R>> = true;

// The view operations as members of Derived (TensorView, MaybeOwnedView or Tensor). Each exists
// for the value categories of its object, because what the result may point at depends on them:
//
//   object                     result                   why
//   TensorView                 TensorView               it points; so does its view
//   MaybeOwnedView (any)       MaybeOwnedView, same     the block it shares stays alive as long as
//                              storage                  any view of it does, so a view returned from
//                                                       a function or kept from a chain is valid
//   Tensor&                    TensorView<T>            a named tensor outlives the statement; its
//   const Tensor&              TensorView<const T>      views stay free (like std::span of a vector)
//   Tensor&&                   MaybeOwnedView           the temporary's memory moves into the view
//   const Tensor&&             deleted                  its memory can neither be moved nor kept
//
// reshape() and contiguous() return MaybeOwnedView for every object (they may copy; the copy is
// owned by the result), clone() and to<U>() a new Tensor.
//
// The overloads: `&` and `const&` differ only for Tensor (mutable or const elements); `&&` moves
// a temporary's storage into the result instead of copying the handle. The deleted `const&&`
// overloads exist for Tensor only (the constraint removes them elsewhere, and a const rvalue view
// then binds to `const&`, which is right for a view); being deleted rather than failing inside the
// body, they also make `requires { f().transpose(0, 1); }` false.
//
// Derived provides plain() (its elements as a TensorView, const for a const Tensor) and
// storage_for(object) (what its results must keep alive: NoStorage or a Storage).
template <class Derived, std::size_t R>
class ViewOps {
  static constexpr bool rejects_const_rvalues = is_tensor_v<Derived>;

 public:
  // The object itself as a view: a TensorView for a named Tensor or a TensorView, the owning view
  // for a temporary Tensor or a MaybeOwnedView.
  auto view() & { return derive(self(), IdentityOp{}); }
  auto view() const& { return derive(self(), IdentityOp{}); }
  auto view() && { return derive(std::move(self()), IdentityOp{}); }
  void view() const&& requires(rejects_const_rvalues) = delete;

  // torch.Tensor.view(*shape): one size may be -1; shape_error when the strides cannot express it.
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto view(I... sizes) & {
    return derive(self(), ViewOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto view(I... sizes) const& {
    return derive(self(), ViewOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto view(I... sizes) && {
    return derive(std::move(self()), ViewOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...) && rejects_const_rvalues)
  void view(I... sizes) const&& = delete;
  // The same with the sizes as an array (view(Shape<0>{}) is PyTorch's view([])).
  template <std::size_t N>
  auto view(const Shape<N>& sizes) & {
    return derive(self(), ViewOp{}, sizes);
  }
  template <std::size_t N>
  auto view(const Shape<N>& sizes) const& {
    return derive(self(), ViewOp{}, sizes);
  }
  template <std::size_t N>
  auto view(const Shape<N>& sizes) && {
    return derive(std::move(self()), ViewOp{}, sizes);
  }
  template <std::size_t N>
    requires(rejects_const_rvalues)
  void view(const Shape<N>& sizes) const&& = delete;

  // A view exactly when view() would succeed; otherwise a contiguous copy it owns (owns_memory()).
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto reshape(I... sizes) & {
    return derive(self(), ReshapeOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto reshape(I... sizes) const& {
    return derive(self(), ReshapeOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...))
  auto reshape(I... sizes) && {
    return derive(std::move(self()), ReshapeOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= 1 && (std::is_integral_v<I> && ...) && rejects_const_rvalues)
  void reshape(I... sizes) const&& = delete;
  template <std::size_t N>
  auto reshape(const Shape<N>& sizes) & {
    return derive(self(), ReshapeOp{}, sizes);
  }
  template <std::size_t N>
  auto reshape(const Shape<N>& sizes) const& {
    return derive(self(), ReshapeOp{}, sizes);
  }
  template <std::size_t N>
  auto reshape(const Shape<N>& sizes) && {
    return derive(std::move(self()), ReshapeOp{}, sizes);
  }
  template <std::size_t N>
    requires(rejects_const_rvalues)
  void reshape(const Shape<N>& sizes) const&& = delete;

  // Every dimension once, in the new order (negative dimensions count from the end).
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  auto permute(I... dims) & {
    return derive(self(), PermuteOp{}, make_shape(dims...));
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  auto permute(I... dims) const& {
    return derive(self(), PermuteOp{}, make_shape(dims...));
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...))
  auto permute(I... dims) && {
    return derive(std::move(self()), PermuteOp{}, make_shape(dims...));
  }
  template <class... I>
    requires(sizeof...(I) == R && (std::is_integral_v<I> && ...) && rejects_const_rvalues)
  void permute(I... dims) const&& = delete;
  auto permute(const Shape<R>& dims) & { return derive(self(), PermuteOp{}, dims); }
  auto permute(const Shape<R>& dims) const& { return derive(self(), PermuteOp{}, dims); }
  auto permute(const Shape<R>& dims) && { return derive(std::move(self()), PermuteOp{}, dims); }
  void permute(const Shape<R>& dims) const&& requires(rejects_const_rvalues) = delete;

  auto transpose(std::int64_t dim0, std::int64_t dim1) & { return derive(self(), TransposeOp{}, dim0, dim1); }
  auto transpose(std::int64_t dim0, std::int64_t dim1) const& { return derive(self(), TransposeOp{}, dim0, dim1); }
  auto transpose(std::int64_t dim0, std::int64_t dim1) && {
    return derive(std::move(self()), TransposeOp{}, dim0, dim1);
  }
  void transpose(std::int64_t dim0, std::int64_t dim1) const&& requires(rejects_const_rvalues) = delete;

  // Elements [start, start + length) of dim (start may be negative, counting from the end).
  auto narrow(std::int64_t dim, std::int64_t start, std::int64_t length) &
    requires(R >= 1)
  {
    return derive(self(), NarrowOp{}, dim, start, length);
  }
  auto narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const&
    requires(R >= 1)
  {
    return derive(self(), NarrowOp{}, dim, start, length);
  }
  auto narrow(std::int64_t dim, std::int64_t start, std::int64_t length) &&
    requires(R >= 1)
  {
    return derive(std::move(self()), NarrowOp{}, dim, start, length);
  }
  void narrow(std::int64_t dim, std::int64_t start, std::int64_t length) const&&
    requires(R >= 1 && rejects_const_rvalues)
  = delete;

  // Removes dim by fixing it at index (negative counts from the end): rank R - 1.
  auto select(std::int64_t dim, std::int64_t index) &
    requires(R >= 1)
  {
    return derive(self(), SelectOp{}, dim, index);
  }
  auto select(std::int64_t dim, std::int64_t index) const&
    requires(R >= 1)
  {
    return derive(self(), SelectOp{}, dim, index);
  }
  auto select(std::int64_t dim, std::int64_t index) &&
    requires(R >= 1)
  {
    return derive(std::move(self()), SelectOp{}, dim, index);
  }
  void select(std::int64_t dim, std::int64_t index) const&&
    requires(R >= 1 && rejects_const_rvalues)
  = delete;

  // torch.split: pieces of split_size (the last may be smaller), or of the listed sizes. Every
  // piece of an owning object keeps the memory alive.
  auto split(std::int64_t split_size, std::int64_t dim = 0) &
    requires(R >= 1)
  {
    return derive(self(), SplitOp{}, split_size, dim);
  }
  auto split(std::int64_t split_size, std::int64_t dim = 0) const&
    requires(R >= 1)
  {
    return derive(self(), SplitOp{}, split_size, dim);
  }
  auto split(std::int64_t split_size, std::int64_t dim = 0) &&
    requires(R >= 1)
  {
    return derive(std::move(self()), SplitOp{}, split_size, dim);
  }
  void split(std::int64_t split_size, std::int64_t dim = 0) const&&
    requires(R >= 1 && rejects_const_rvalues)
  = delete;
  auto split(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) &
    requires(R >= 1)
  {
    return derive(self(), SplitSizesOp{}, sizes, dim);
  }
  auto split(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) const&
    requires(R >= 1)
  {
    return derive(self(), SplitSizesOp{}, sizes, dim);
  }
  auto split(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) &&
    requires(R >= 1)
  {
    return derive(std::move(self()), SplitSizesOp{}, sizes, dim);
  }
  void split(const std::vector<std::int64_t>& sizes, std::int64_t dim = 0) const&&
    requires(R >= 1 && rejects_const_rvalues)
  = delete;

  // torch.chunk: pieces of ceil(size / chunks); may return fewer than chunks pieces.
  auto chunk(std::int64_t chunks, std::int64_t dim = 0) &
    requires(R >= 1)
  {
    return derive(self(), ChunkOp{}, chunks, dim);
  }
  auto chunk(std::int64_t chunks, std::int64_t dim = 0) const&
    requires(R >= 1)
  {
    return derive(self(), ChunkOp{}, chunks, dim);
  }
  auto chunk(std::int64_t chunks, std::int64_t dim = 0) &&
    requires(R >= 1)
  {
    return derive(std::move(self()), ChunkOp{}, chunks, dim);
  }
  void chunk(std::int64_t chunks, std::int64_t dim = 0) const&&
    requires(R >= 1 && rejects_const_rvalues)
  = delete;

  // A new dimension of size 1 at dim (in [-(R+1), R]): rank R + 1.
  auto unsqueeze(std::int64_t dim) & { return derive(self(), UnsqueezeOp{}, dim); }
  auto unsqueeze(std::int64_t dim) const& { return derive(self(), UnsqueezeOp{}, dim); }
  auto unsqueeze(std::int64_t dim) && { return derive(std::move(self()), UnsqueezeOp{}, dim); }
  void unsqueeze(std::int64_t dim) const&& requires(rejects_const_rvalues) = delete;

  // Broadcast to a shape of N >= R dimensions: size-1 dimensions get stride 0, new ones are
  // prepended, -1 keeps a size.
  template <class... I>
    requires(sizeof...(I) >= R && (std::is_integral_v<I> && ...))
  auto expand(I... sizes) & {
    return derive(self(), ExpandOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= R && (std::is_integral_v<I> && ...))
  auto expand(I... sizes) const& {
    return derive(self(), ExpandOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= R && (std::is_integral_v<I> && ...))
  auto expand(I... sizes) && {
    return derive(std::move(self()), ExpandOp{}, make_shape(sizes...));
  }
  template <class... I>
    requires(sizeof...(I) >= R && (std::is_integral_v<I> && ...) && rejects_const_rvalues)
  void expand(I... sizes) const&& = delete;
  template <std::size_t N>
    requires(N >= R)
  auto expand(const Shape<N>& sizes) & {
    return derive(self(), ExpandOp{}, sizes);
  }
  template <std::size_t N>
    requires(N >= R)
  auto expand(const Shape<N>& sizes) const& {
    return derive(self(), ExpandOp{}, sizes);
  }
  template <std::size_t N>
    requires(N >= R)
  auto expand(const Shape<N>& sizes) && {
    return derive(std::move(self()), ExpandOp{}, sizes);
  }
  template <std::size_t N>
    requires(N >= R && rejects_const_rvalues)
  void expand(const Shape<N>& sizes) const&& = delete;

  // The same memory when already contiguous, otherwise a contiguous copy it owns.
  auto contiguous() & { return derive(self(), ContiguousOp{}); }
  auto contiguous() const& { return derive(self(), ContiguousOp{}); }
  auto contiguous() && { return derive(std::move(self()), ContiguousOp{}); }
  void contiguous() const&& requires(rejects_const_rvalues) = delete;

  // Always a new contiguous Tensor (PyTorch's clone(memory_format=torch.contiguous_format)).
  auto clone() const {
    const auto v = self().plain();
    return clone_as<typename decltype(v)::value_type>(v);
  }
  // A new Tensor of element type U, each element rounded once (round to nearest even). Unlike
  // PyTorch's to(), the result is a copy even when U is the element type already.
  template <class U>
    requires is_element_type_v<U>
  Tensor<U, R> to() const {
    return clone_as<U>(self().plain());
  }

  // Copies src into this object's elements: src is broadcast to this shape and converted to this
  // element type (one rounding), as torch.Tensor.copy_. A source that overlaps the destination
  // is read in full first. Returns the object (a temporary is returned by value).
  template <class Source>
  Derived& copy_(const Source& src) & {
    copy_from(self().plain(), src);
    return self();
  }
  template <class Source>
  const Derived& copy_(const Source& src) const& {
    copy_from(self().plain(), src);
    return self();
  }
  template <class Source>
  Derived copy_(const Source& src) && {
    copy_from(self().plain(), src);
    return std::move(self());
  }
  // Sets every element to value (a number or an element type), rounded once to the element type.
  template <class V>
  Derived& fill_(const V& value) & {
    fill_with(self().plain(), value);
    return self();
  }
  template <class V>
  const Derived& fill_(const V& value) const& {
    fill_with(self().plain(), value);
    return self();
  }
  template <class V>
  Derived fill_(const V& value) && {
    fill_with(self().plain(), value);
    return std::move(self());
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  const Derived& self() const { return static_cast<const Derived&>(*this); }

  // Applies op to the object's plain view, then attaches what the object's results must keep
  // alive (the table above). The result is computed before the object gives up its storage, so a
  // throwing op leaves a temporary Tensor or MaybeOwnedView untouched.
  template <class Self, class Op, class... A>
  static auto derive(Self&& object, const Op& op, const A&... args) {
    auto result = op(object.plain(), args...);
    return share(Derived::storage_for(std::forward<Self>(object)), std::move(result));
  }
};

}  // namespace detail

TESSEL_NAMESPACE_END

#include "tensor_view.hpp"  // TensorView, MaybeOwnedView and Tensor complete the operations
