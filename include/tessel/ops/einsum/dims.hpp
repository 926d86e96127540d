// tessel/ops/einsum/dims.hpp — a product described dimension by dimension, the common
// language of einsum's and linear's planners:
//
//   c[o] = bias[o] + Σ_s a[o, s] · b[o, s]
//
// Every dimension (a label of the equation, a leading dimension of linear's x) has one size
// and one stride per operand; an operand that does not vary along it has stride 0 there
// (it lacks the label, or broadcasts a size-1 dimension). A dimension with c-stride 0 is
// summed. Nothing else is needed to say which labels are batch, free or contracted (see
// contraction.hpp), or to walk any of them without copying.
#pragma once

#include "../../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct ProductDim {
  std::int64_t size = 1;
  std::int64_t a = 0, b = 0, c = 0, bias = 0;  // strides, in elements
};
using ProductDims = std::vector<ProductDim>;

inline bool is_summed(const ProductDim& d) { return d.c == 0; }

// Size-1 dimensions are read at offset 0 by every operand: they can be dropped.
inline void drop_unit_dims(ProductDims& dims) {
  std::erase_if(dims, [](const ProductDim& d) { return d.size == 1; });
}

inline std::int64_t count_of(const ProductDims& dims) {
  std::int64_t n = 1;
  for (const auto& d : dims) n *= d.size;
  return n;
}

// Whether `outer` followed by `inner` walks every operand like one dimension of
// outer.size·inner.size with inner's strides.
inline bool dims_merge(const ProductDim& outer, const ProductDim& inner) {
  return outer.a == inner.size * inner.a && outer.b == inner.size * inner.b && outer.c == inner.size * inner.c &&
         outer.bias == inner.size * inner.bias;
}

// Merges neighbours of a list ordered outer to inner wherever dims_merge allows.
inline void merge_dims(ProductDims& dims) {
  ProductDims out;
  for (const auto& d : dims) {
    if (!out.empty() && dims_merge(out.back(), d)) {
      out.back().size *= d.size;
      out.back().a = d.a, out.back().b = d.b, out.back().c = d.c, out.back().bias = d.bias;
    } else {
      out.push_back(d);
    }
  }
  dims = std::move(out);
}

// Orders a group outer to inner by decreasing stride of `key` (ties by `tie`), the order in
// which merge_dims can find neighbours; stable, so equal strides keep the caller's order.
template <class Key, class Tie>
void sort_outer_to_inner(ProductDims& dims, Key key, Tie tie) {
  std::stable_sort(dims.begin(), dims.end(), [&](const ProductDim& x, const ProductDim& y) {
    if (key(x) != key(y)) return key(x) > key(y);
    return tie(x) > tie(y);
  });
}

// Walks the positions of a list of dimensions in row-major order (the last fastest), keeping
// each operand's element offset. seek() jumps to a linear position.
class DimWalk {
 public:
  explicit DimWalk(const ProductDims& dims) : dims_(&dims), idx_(dims.size(), 0) {}
  void seek(std::int64_t pos) {
    a = b = c = bias = 0;
    for (std::size_t d = dims_->size(); d-- > 0;) {
      const ProductDim& dim = (*dims_)[d];
      const std::int64_t i = pos % dim.size;
      pos /= dim.size;
      idx_[d] = i;
      a += i * dim.a, b += i * dim.b, c += i * dim.c, bias += i * dim.bias;
    }
  }
  void next() {
    for (std::size_t d = dims_->size(); d-- > 0;) {
      const ProductDim& dim = (*dims_)[d];
      a += dim.a, b += dim.b, c += dim.c, bias += dim.bias;
      if (++idx_[d] < dim.size) return;
      a -= dim.size * dim.a, b -= dim.size * dim.b, c -= dim.size * dim.c, bias -= dim.size * dim.bias;
      idx_[d] = 0;
    }
  }
  std::int64_t a = 0, b = 0, c = 0, bias = 0;

 private:
  const ProductDims* dims_;
  std::vector<std::int64_t> idx_;
};

}  // namespace detail
TESSEL_NAMESPACE_END
