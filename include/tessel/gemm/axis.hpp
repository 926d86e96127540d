// tessel/gemm/axis.hpp — one index of an operand (its rows, its columns or its batch) as a
// short list of tensor dimensions, mapped to element offsets without copying.
//
// A logical index i in [0, size) is split in mixed radix over the dimensions, outermost
// first, and each digit is multiplied by its dimension's stride:
//
//   dims (sizes n0, n1, n2), strides (s0, s1, s2):   i = (i0·n1 + i1)·n2 + i2
//   offset(i) = i0·s0 + i1·s1 + i2·s2                (n0 is not needed: i0 = i / (n1·n2))
//
// This is TBLIS's "contraction without transposition": the M, N, K and batch index groups
// of a tensor contraction each become one Axis, whatever their strides, so packing and the
// store can walk them directly. Dimensions that strides alone could merge are merged when the
// axis is built (Axis::of), so the common cases stay one-dimensional: a transpose or a column
// block of a wider tensor is one stride; rows (i, j) of a permuted [b, s, h] input are two.
// Optionally a logical index first goes through an index list (rows picked by the importance
// selection, gathered k, scattered C rows).
//
// Cost: offset() of a one-dimensional axis is a multiply; of a d-dimensional one, d - 1
// divisions. The engine calls it once per line or panel, never per element; walks along an
// axis (for_each_run) step through the digits like an odometer, without dividing.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <utility>

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct Axis {
  // The most dimensions one axis can hold after merging (einsum's label groups and linear's
  // leading dimensions of x need at most the rank of a tensor, which tessel caps at 6 here).
  static constexpr int kMaxDims = 6;
  // A run length without end: a one-dimensional unit-stride axis is one run.
  static constexpr std::int64_t kEndless = std::numeric_limits<std::int64_t>::max();

  int dims = 1;                         // 1 ..= kMaxDims
  std::int64_t size[kMaxDims] = {0};    // size[0] (the outermost) is informational only
  std::int64_t stride[kMaxDims] = {1};  // element strides
  const std::int64_t* index = nullptr;  // when set, logical i first becomes index[i]

  // One dimension: offset(i) = i·s.
  static constexpr Axis strided(std::int64_t s) {
    Axis a;
    a.stride[0] = s;
    return a;
  }

  // The dimensions (size[d], stride[d]), d < n, outermost first, with size-1 dimensions
  // dropped and neighbours merged where stride[d] == size[d+1]·stride[d+1]. No dimensions
  // (or only size-1 ones) give a one-dimensional axis. Throws std::length_error when more than
  // kMaxDims dimensions remain (dims_after_merge says how many would).
  static Axis of(const std::int64_t* sizes, const std::int64_t* strides, int n) {
    Axis a;
    a.dims = 0;
    std::int64_t last_stride = n > 0 ? strides[n - 1] : 1;
    for (int d = 0; d < n; ++d) {
      if (sizes[d] == 1) continue;
      if (a.dims > 0 && a.stride[a.dims - 1] == sizes[d] * strides[d]) {
        // Merges into the previous dimension: its index now runs over both.
        a.size[a.dims - 1] *= sizes[d];
        a.stride[a.dims - 1] = strides[d];
        continue;
      }
      if (a.dims == kMaxDims)
        throw std::length_error("tessel: an engine axis holds at most 6 non-mergeable dimensions");
      a.size[a.dims] = sizes[d];
      a.stride[a.dims] = strides[d];
      ++a.dims;
    }
    if (a.dims == 0) return strided(last_stride);
    return a;
  }
  static Axis of(std::initializer_list<std::int64_t> sizes, std::initializer_list<std::int64_t> strides) {
    if (sizes.size() != strides.size()) throw std::invalid_argument("tessel: Axis::of needs one stride per size");
    return of(sizes.begin(), strides.begin(), static_cast<int>(sizes.size()));
  }
  // How many dimensions Axis::of would keep (planners check this against kMaxDims).
  static int dims_after_merge(const std::int64_t* sizes, const std::int64_t* strides, int n) {
    int dims = 0;
    std::int64_t prev_stride = 0;
    for (int d = 0; d < n; ++d) {
      if (sizes[d] == 1) continue;
      if (dims == 0 || prev_stride != sizes[d] * strides[d]) ++dims;
      prev_stride = strides[d];
    }
    return dims > 0 ? dims : 1;
  }

  constexpr Axis with_index(const std::int64_t* list) const {
    Axis a = *this;
    a.index = list;
    return a;
  }

  constexpr std::int64_t offset(std::int64_t i) const {
    if (index) i = index[i];
    if (dims == 1) return i * stride[0];
    return split_offset(i);
  }
  // offset() of an index already past the index list.
  constexpr std::int64_t split_offset(std::int64_t i) const {
    if (dims == 2) {  // the common case (rows of a permuted [b, s, h]): one division
      const std::int64_t q = i / size[1];
      return q * stride[0] + (i - q * size[1]) * stride[1];
    }
    std::int64_t off = 0;
    for (int d = dims - 1; d > 0; --d) {
      const std::int64_t q = i / size[d];
      off += (i - q * size[d]) * stride[d];
      i = q;
    }
    return off + i * stride[0];
  }

  // Consecutive indices are consecutive elements (the packing and store fast paths).
  constexpr bool is_unit() const { return dims == 1 && stride[0] == 1 && index == nullptr; }
  // Every index maps to the same element (a broadcast batch).
  constexpr bool is_broadcast() const {
    for (int d = 0; d < dims; ++d)
      if (stride[d] != 0) return false;
    return index == nullptr;
  }
  // The length of the runs of consecutive elements the axis is made of: indices q·L ..
  // q·L + L - 1 are consecutive elements (the innermost dimension has stride 1 and there is no
  // index list); kEndless for a unit axis, 1 when no two neighbours are consecutive.
  constexpr std::int64_t unit_run() const {
    if (index || stride[dims - 1] != 1) return 1;
    return dims == 1 ? kEndless : size[dims - 1];
  }
};

// Calls f(offset, length) for each maximal stretch of indices [first, first + n) of `axis`
// whose elements are consecutive (offset is the first element's), in index order; lengths
// sum to n. A unit axis gives one call; a strided one a call per index.
template <class F>
void for_each_run(const Axis& axis, std::int64_t first, std::int64_t n, F&& f) {
  if (n <= 0) return;
  if (axis.index || axis.dims == 1) {
    if (axis.is_unit()) return f(first, n);
    for (std::int64_t i = 0; i < n; ++i) f(axis.offset(first + i), std::int64_t{1});
    return;
  }
  // Odometer over the digits of the index: no division after the first.
  const int inner = axis.dims - 1;
  std::int64_t digit[Axis::kMaxDims];
  std::int64_t rest = first;
  for (int d = inner; d > 0; --d) {
    digit[d] = rest % axis.size[d];
    rest /= axis.size[d];
  }
  digit[0] = rest;
  std::int64_t off = axis.split_offset(first);
  const bool unit = axis.stride[inner] == 1;
  while (n > 0) {
    const std::int64_t len = unit ? std::min(axis.size[inner] - digit[inner], n) : 1;
    f(off, len);
    n -= len;
    // Advance by len along the innermost digit, carrying into the outer ones.
    digit[inner] += len;
    off += len * axis.stride[inner];
    for (int d = inner; d > 0 && digit[d] == axis.size[d]; --d) {
      off -= axis.size[d] * axis.stride[d];
      digit[d] = 0;
      ++digit[d - 1];
      off += axis.stride[d - 1];
    }
  }
}

}  // namespace detail
TESSEL_NAMESPACE_END
