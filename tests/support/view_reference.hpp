// tests/support/view_reference.hpp — an index-arithmetic model of PyTorch's view operations.
//
// A reference tensor is a shape plus a function from a multi-index to an element offset in
// some buffer. Every operation is written from its PyTorch definition as an index mapping
// ("result[i, j] = source[j, i]", "result[idx] = source[unravel(ravel(idx))]", ...), never
// through strides, so it shares no arithmetic with tessel's stride computations. A view is
// then correct when, for every multi-index, its element address equals the reference's.
#pragma once

#include <catch2/catch.hpp>

#include <tessel/core/tensor.hpp>
#include <tessel/core/tensor_view.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tessel_test {

using Index = std::vector<std::int64_t>;

struct Ref {
  Index shape;
  std::function<std::int64_t(const Index&)> offset;  // multi-index -> element offset in the buffer
};

inline std::int64_t numel(const Index& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

inline std::string str(const Index& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Calls f(idx) for every multi-index of `shape` in row-major order.
template <class F>
void for_each_index(const Index& shape, F&& f) {
  if (numel(shape) == 0) return;
  Index idx(shape.size(), 0);
  while (true) {
    f(static_cast<const Index&>(idx));
    std::size_t d = shape.size();
    while (true) {
      if (d == 0) return;
      --d;
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

// Row-major flat position of idx in shape, and its inverse.
inline std::int64_t ravel(const Index& idx, const Index& shape) {
  std::int64_t p = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) p = p * shape[d] + idx[d];
  return p;
}
inline Index unravel(std::int64_t p, const Index& shape) {
  Index idx(shape.size(), 0);
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = p % shape[d];
    p /= shape[d];
  }
  return idx;
}

inline std::int64_t wrap(std::int64_t dim, std::size_t rank) {
  return dim < 0 ? dim + static_cast<std::int64_t>(rank) : dim;
}

// A dense row-major tensor whose element (idx) sits at base + ravel(idx).
inline Ref ref_contiguous(Index shape, std::int64_t base = 0) {
  Index s = shape;
  return {shape, [s, base](const Index& idx) { return base + ravel(idx, s); }};
}

// torch.permute: result.size(d) = src.size(perm[d]); result[idx] = src[j] with j[perm[d]] = idx[d].
inline Ref ref_permute(const Ref& src, const Index& perm) {
  Index shape(perm.size());
  Index p(perm.size());
  for (std::size_t d = 0; d < perm.size(); ++d) p[d] = wrap(perm[d], perm.size());
  for (std::size_t d = 0; d < perm.size(); ++d) shape[d] = src.shape[std::size_t(p[d])];
  return {shape, [src, p](const Index& idx) {
            Index j(idx.size());
            for (std::size_t d = 0; d < idx.size(); ++d) j[std::size_t(p[d])] = idx[d];
            return src.offset(j);
          }};
}

inline Ref ref_transpose(const Ref& src, std::int64_t d0, std::int64_t d1) {
  const auto a = std::size_t(wrap(d0, src.shape.size())), b = std::size_t(wrap(d1, src.shape.size()));
  Index shape = src.shape;
  std::swap(shape[a], shape[b]);
  return {shape, [src, a, b](const Index& idx) {
            Index j = idx;
            std::swap(j[a], j[b]);
            return src.offset(j);
          }};
}

// torch.narrow: result[.., i, ..] = src[.., start + i, ..] (start already non-negative).
inline Ref ref_narrow(const Ref& src, std::int64_t dim, std::int64_t start, std::int64_t length) {
  const auto d = std::size_t(wrap(dim, src.shape.size()));
  Index shape = src.shape;
  shape[d] = length;
  return {shape, [src, d, start](const Index& idx) {
            Index j = idx;
            j[d] += start;
            return src.offset(j);
          }};
}

// torch.select: result[i0.., i{d-1}, i{d+1}..] = src[i0.., index, ..].
inline Ref ref_select(const Ref& src, std::int64_t dim, std::int64_t index) {
  const auto d = std::size_t(wrap(dim, src.shape.size()));
  Index shape = src.shape;
  shape.erase(shape.begin() + std::ptrdiff_t(d));
  return {shape, [src, d, index](const Index& idx) {
            Index j = idx;
            j.insert(j.begin() + std::ptrdiff_t(d), index);
            return src.offset(j);
          }};
}

// torch.unsqueeze: a size-1 dimension at d (d in [-(R+1), R]).
inline Ref ref_unsqueeze(const Ref& src, std::int64_t dim) {
  const auto d = std::size_t(wrap(dim, src.shape.size() + 1));
  Index shape = src.shape;
  shape.insert(shape.begin() + std::ptrdiff_t(d), 1);
  return {shape, [src, d](const Index& idx) {
            Index j = idx;
            j.erase(j.begin() + std::ptrdiff_t(d));
            return src.offset(j);
          }};
}

// torch.expand to `sizes` (-1 keeps): leading new dimensions are ignored, broadcast
// dimensions always read index 0.
inline Ref ref_expand(const Ref& src, const Index& sizes) {
  const std::size_t lead = sizes.size() - src.shape.size();
  Index shape = sizes;
  for (std::size_t i = lead; i < sizes.size(); ++i)
    if (sizes[i] == -1) shape[i] = src.shape[i - lead];
  return {shape, [src, lead](const Index& idx) {
            Index j(idx.begin() + std::ptrdiff_t(lead), idx.end());
            for (std::size_t i = 0; i < j.size(); ++i)
              if (src.shape[i] == 1) j[i] = 0;
            return src.offset(j);
          }};
}

// torch.view / reshape: the element at flat row-major position p of the result is the
// element at flat position p of the source.
inline Ref ref_view(const Ref& src, const Index& new_shape) {
  const Index old_shape = src.shape;
  return {new_shape, [src, old_shape, new_shape](const Index& idx) {
            return src.offset(unravel(ravel(idx, new_shape), old_shape));
          }};
}

// Resolves a single -1 as torch's infer_size does; nothing when PyTorch would throw.
inline std::optional<Index> ref_infer(Index shape, std::int64_t n) {
  std::int64_t known = 1;
  int minus = -1, count = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      minus = int(d);
      ++count;
    } else if (shape[d] < 0) {
      return std::nullopt;
    } else {
      known *= shape[d];
    }
  }
  if (count > 1) return std::nullopt;
  if (count == 1) {
    if (known == 0 || n % known != 0) return std::nullopt;
    shape[std::size_t(minus)] = n / known;
  } else if (known != n) {
    return std::nullopt;
  }
  return shape;
}

// torch.split(split_size): sizes of the pieces. With size 0 there is one empty piece.
inline Index ref_split_sizes(std::int64_t size, std::int64_t split_size) {
  Index out;
  if (size == 0) return {0};
  for (std::int64_t start = 0; start < size; start += split_size) out.push_back(std::min(split_size, size - start));
  return out;
}
// torch.chunk(chunks): split by ceil(size / chunks); a size-0 dimension gives `chunks`
// empty pieces (PyTorch: torch.empty(0).chunk(3) has 3 pieces).
inline Index ref_chunk_sizes(std::int64_t size, std::int64_t chunks) {
  if (size == 0) return Index(std::size_t(chunks), 0);
  return ref_split_sizes(size, (size + chunks - 1) / chunks);
}

// Whether every element of ref sits at base + its row-major flat position (PyTorch's
// contiguity, by brute force: size-1 dimensions and empty tensors never break it).
inline bool ref_is_contiguous(const Ref& r) {
  if (numel(r.shape) == 0) return true;
  const std::int64_t base = r.offset(Index(r.shape.size(), 0));
  bool ok = true;
  for_each_index(r.shape, [&](const Index& idx) { ok = ok && r.offset(idx) == base + ravel(idx, r.shape); });
  return ok;
}

// Whether PyTorch's view(new_shape) succeeds, by brute force: it does exactly when some
// strides reproduce, for every multi-index of the new shape, the offset of the element at
// the same flat position. Candidate strides are the offset differences of unit steps;
// they are then verified on every element. (An empty tensor can always be viewed.)
inline bool ref_view_possible(const Ref& src, const Index& new_shape) {
  if (numel(new_shape) != numel(src.shape)) return false;
  if (numel(new_shape) == 0) return true;
  const Ref target = ref_view(src, new_shape);
  const Index zero(new_shape.size(), 0);
  const std::int64_t base = target.offset(zero);
  Index strides(new_shape.size(), 0);
  for (std::size_t d = 0; d < new_shape.size(); ++d) {
    if (new_shape[d] < 2) continue;
    Index e = zero;
    e[d] = 1;
    strides[d] = target.offset(e) - base;
  }
  bool ok = true;
  for_each_index(new_shape, [&](const Index& idx) {
    std::int64_t o = base;
    for (std::size_t d = 0; d < idx.size(); ++d) o += idx[d] * strides[d];
    ok = ok && o == target.offset(idx);
  });
  return ok;
}

template <std::size_t R>
Index to_index(const std::array<std::int64_t, R>& a) {
  return Index(a.begin(), a.end());
}
template <std::size_t R>
std::array<std::int64_t, R> to_array(const Index& v) {
  std::array<std::int64_t, R> a{};
  for (std::size_t i = 0; i < R; ++i) a[i] = v[i];
  return a;
}

// Element access through the view's operator() with a runtime multi-index (any view type:
// TensorView, MaybeOwnedView).
template <class V>
auto& element(const V& v, const Index& idx) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) -> auto& {
    return v(idx[I]...);
  }(std::make_index_sequence<V::rank>{});
}

// Checks that view v has ref's shape and that every element's address is base + ref.offset.
// Returns false (after reporting the first mismatch) on any difference.
template <class V>
bool matches(const V& v, const typename V::value_type* base, const Ref& ref, const std::string& what) {
  INFO(what);
  if (to_index(v.shape()) != ref.shape) {
    INFO("shape " << str(to_index(v.shape())) << ", reference " << str(ref.shape));
    CHECK(false);
    return false;
  }
  CHECK(v.numel() == numel(ref.shape));
  bool ok = true;
  for_each_index(ref.shape, [&](const Index& idx) {
    if (!ok) return;
    const std::int64_t got = &element(v, idx) - base;
    const std::int64_t want = ref.offset(idx);
    if (got != want) {
      INFO("element " << str(idx) << " of shape " << str(ref.shape) << " strides "
                      << str(to_index(v.strides())) << ": offset " << got << ", reference " << want);
      CHECK(got == want);
      ok = false;
    }
  });
  return ok;
}

// Checks that v has ref's shape and that each element *value* equals buffer[ref.offset]
// (for copies, which live in other memory).
template <class V, class U>
bool matches_values(const V& v, const U* buffer, const Ref& ref, const std::string& what) {
  INFO(what);
  if (to_index(v.shape()) != ref.shape) {
    INFO("shape " << str(to_index(v.shape())) << ", reference " << str(ref.shape));
    CHECK(false);
    return false;
  }
  bool ok = true;
  for_each_index(ref.shape, [&](const Index& idx) {
    if (!ok) return;
    const float got = static_cast<float>(element(v, idx));
    const float want = static_cast<float>(buffer[ref.offset(idx)]);
    if (got != want) {
      INFO("element " << str(idx) << ": " << got << ", reference " << want);
      CHECK(got == want);
      ok = false;
    }
  });
  return ok;
}

}  // namespace tessel_test
