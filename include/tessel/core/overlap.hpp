// tessel/core/overlap.hpp — whether strided views share memory, decided element by element.
//
// An output may not share an element with an input (the input would be read after it was
// overwritten) nor with itself (two results would land in one place). Comparing address
// ranges is too coarse for that: buf[:, 0:3] and buf[:, 3:6] of a [2, 6] buffer have
// interleaved ranges but no element in common, and a [2, 2] view with strides {3, 2} reaches
// offsets 0, 2, 3, 5, four distinct elements, though its strides are not "sorted and nested".
// PyTorch accepts both; so does tessel.
//
// The question as arithmetic. A view of e-byte elements at byte address p covers the bytes
//   p + Σ_d i_d·s_d·e + t,      0 <= i_d < n_d,  0 <= t < e.
// Two views share a byte iff the two such sums can be equal. Replacing each index of the
// second view by its mirror (n_d - 1 - i_d) turns that into: do integers 0 <= x_j <= u_j exist
// with Σ_j a_j·x_j = b, all a_j > 0? That bounded-knapsack question is NP-hard in general (NumPy
// answers it the same way in shares_memory, with a work bound), but the layouts views come
// from make it easy. With the terms sorted by coefficient, equal coefficients merged, and M_k
// the largest sum the k smallest terms reach:
//   * if every coefficient is at most one more than the reach of those below it (contiguous
//     rows, side-by-side slices of one row), the k smallest terms reach every integer of
//     [0, M_k], so the answer is 0 <= b <= M_k;
//   * if a coefficient exceeds the reach below it (a stride larger than the extent of the
//     smaller dimensions: the usual layout), its multiplier is forced: floor(b / a_k);
//   * otherwise the possible multipliers are tried in turn, within a fixed budget of steps;
// and the gcd of the coefficients must divide b. Past the budget the answer is "unknown",
// and callers act conservatively: an input that may overlap an output is read from a copy
// (ops/operands.hpp), and self-overlap of an output is settled by listing its offsets.
#pragma once

#include "config.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Whether memory is shared: proven not, proven yes, or not decided within the budget.
enum class Sharing { none, some, unknown };

namespace overlap {

// Sums of two views' byte spans can exceed an int64 (each span only fits a ptrdiff_t).
__extension__ typedef __int128 wide;

// Steps the solver may take on one question before it answers "unknown".
inline constexpr int kBudget = 4096;

// Sorts the first n items of a small array (a handful of dimensions: insertion sort).
template <class Item, std::size_t N, class Less>
void sort_prefix(std::array<Item, N>& items, std::size_t n, Less less) {
  for (std::size_t i = 1; i < n; ++i)
    for (std::size_t j = i; j > 0 && less(items[j], items[j - 1]); --j) std::swap(items[j], items[j - 1]);
}

// Σ a_j·x_j = b over 0 <= x_j <= u_j, for up to N terms.
template <std::size_t N>
class BoundedSum {
 public:
  // Terms with a zero coefficient or bound change no sum and are dropped.
  void add(wide coefficient, wide bound) {
    if (coefficient > 0 && bound > 0) terms_[count_++] = {coefficient, bound};
  }

  Sharing solvable(wide target) {
    prepare();
    int budget = kBudget;
    return reach(count_, target, budget);
  }

 private:
  struct Term {
    wide a = 0, u = 0;
  };

  void prepare() {
    sort_prefix(terms_, count_, [](const Term& x, const Term& y) { return x.a < y.a; });
    std::size_t merged = 0;  // equal coefficients: x·a + y·a = (x + y)·a with x + y <= u + v
    for (std::size_t j = 0; j < count_; ++j) {
      if (merged > 0 && terms_[merged - 1].a == terms_[j].a) terms_[merged - 1].u += terms_[j].u;
      else terms_[merged++] = terms_[j];
    }
    count_ = merged;
    reach_[0] = 0;
    dense_[0] = true;
    gcd_[0] = 0;
    for (std::size_t k = 1; k <= count_; ++k) {
      const Term& t = terms_[k - 1];
      reach_[k] = reach_[k - 1] + t.a * t.u;
      dense_[k] = dense_[k - 1] && t.a <= reach_[k - 1] + 1;
      gcd_[k] = gcd(gcd_[k - 1], t.a);
    }
  }

  static wide gcd(wide x, wide y) {
    while (y != 0) x = std::exchange(y, x % y);
    return x;
  }

  // Whether the k smallest terms can sum to exactly `rest`.
  Sharing reach(std::size_t k, wide rest, int& budget) const {
    if (rest < 0 || rest > reach_[k]) return Sharing::none;
    if (k == 0) return rest == 0 ? Sharing::some : Sharing::none;
    if (dense_[k]) return Sharing::some;
    if (rest % gcd_[k] != 0) return Sharing::none;
    const Term& t = terms_[k - 1];
    // x·a + (what the smaller terms reach, at most reach_[k - 1]) = rest
    const wide hi = std::min(t.u, rest / t.a);
    const wide over = rest - reach_[k - 1];
    const wide lo = over > 0 ? (over + t.a - 1) / t.a : 0;
    bool unsure = false;
    for (wide x = hi; x >= lo; --x) {
      if (--budget < 0) return Sharing::unknown;
      const Sharing r = reach(k - 1, rest - x * t.a, budget);
      if (r == Sharing::some) return r;
      unsure = unsure || r == Sharing::unknown;
    }
    return unsure ? Sharing::unknown : Sharing::none;
  }

  std::array<Term, N> terms_{};
  std::array<wide, N + 1> reach_{};
  std::array<bool, N + 1> dense_{};
  std::array<wide, N + 1> gcd_{};
  std::size_t count_ = 0;
};

template <class V>
using element_t = std::remove_pointer_t<decltype(std::declval<const V&>().data())>;

template <class V>
bool has_elements(const V& v) {
  for (auto n : v.shape())
    if (n == 0) return false;
  return true;
}

template <class V>
std::uintptr_t address(const V& v) {
  return reinterpret_cast<std::uintptr_t>(static_cast<const void*>(v.data()));
}

// Offset of the last byte of v from its first (v has elements).
template <class V>
wide last_byte(const V& v) {
  wide last = 0;
  for (std::size_t d = 0; d < v.shape().size(); ++d) last += wide(v.shape()[d] - 1) * v.strides()[d];
  return last * wide(sizeof(element_t<V>)) + wide(sizeof(element_t<V>)) - 1;
}

// Byte offsets (from `origin`) of every element of v, appended to `out`.
template <class V>
void append_offsets(const V& v, std::uintptr_t origin, std::vector<std::int64_t>& out) {
  constexpr std::size_t R = std::tuple_size_v<std::remove_cvref_t<decltype(v.shape())>>;
  const auto e = static_cast<std::int64_t>(sizeof(element_t<V>));
  const auto base = static_cast<std::int64_t>(address(v) - origin);
  std::array<std::int64_t, R> index{};
  while (true) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < R; ++d) off += index[d] * v.strides()[d];
    out.push_back(base + off * e);
    std::size_t d = R;
    while (d > 0 && ++index[d - 1] == v.shape()[d - 1]) index[--d] = 0;
    if (d == 0) return;
  }
}

// Whether two of the listed elements (all `size` bytes) share a byte.
inline bool listed_overlap(std::vector<std::int64_t>& offsets, std::int64_t size) {
  std::sort(offsets.begin(), offsets.end());
  for (std::size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] - offsets[i - 1] < size) return true;
  return false;
}

}  // namespace overlap

// Whether two distinct indices of v reach the same element.
template <class V>
Sharing internal_sharing(const V& v) {
  constexpr std::size_t R = std::tuple_size_v<std::remove_cvref_t<decltype(v.shape())>>;
  if (!overlap::has_elements(v)) return Sharing::none;
  // Dimensions of size > 1 by stride. A repeated element means a nonzero index difference k
  // (|k_d| < n_d) with Σ k_d·s_d = 0; take the last nonzero k_m in this order positive
  // (k and -k are both solutions). With k_d = x_d - (n_d - 1) and k_m = 1 + y that is
  //   Σ_{d before m} s_d·x_d + s_m·y = Σ_{d before m} (n_d - 1)·s_d - s_m,
  // 0 <= x_d <= 2(n_d - 1), 0 <= y <= n_m - 2, which a nested layout fails at once (the
  // right side is negative).
  std::array<std::size_t, R> order{};
  std::size_t dims = 0;
  for (std::size_t d = 0; d < R; ++d) {
    if (v.shape()[d] <= 1) continue;
    if (v.strides()[d] == 0) return Sharing::some;  // an expanded dimension
    order[dims++] = d;
  }
  overlap::sort_prefix(order, dims, [&](std::size_t x, std::size_t y) { return v.strides()[x] < v.strides()[y]; });
  bool unsure = false;
  for (std::size_t m = 0; m < dims; ++m) {
    overlap::BoundedSum<R> sum;
    overlap::wide target = -overlap::wide(v.strides()[order[m]]);
    for (std::size_t j = 0; j < m; ++j) {
      const std::size_t d = order[j];
      sum.add(v.strides()[d], 2 * overlap::wide(v.shape()[d] - 1));
      target += overlap::wide(v.shape()[d] - 1) * v.strides()[d];
    }
    sum.add(v.strides()[order[m]], v.shape()[order[m]] - 2);
    const Sharing s = sum.solvable(target);
    if (s == Sharing::some) return s;
    unsure = unsure || s == Sharing::unknown;
  }
  return unsure ? Sharing::unknown : Sharing::none;
}

// Whether some byte of an element of a is also a byte of an element of b (any element types).
template <class A, class B>
Sharing sharing_between(const A& a, const B& b) {
  if (!overlap::has_elements(a) || !overlap::has_elements(b)) return Sharing::none;
  const std::uintptr_t pa = overlap::address(a), pb = overlap::address(b);
  const overlap::wide a_last = overlap::last_byte(a), b_last = overlap::last_byte(b);
  // Disjoint byte ranges (the common case of distinct tensors) need no arithmetic.
  if (overlap::wide(pa) + a_last < overlap::wide(pb) || overlap::wide(pb) + b_last < overlap::wide(pa))
    return Sharing::none;
  constexpr std::size_t RA = std::tuple_size_v<std::remove_cvref_t<decltype(a.shape())>>;
  constexpr std::size_t RB = std::tuple_size_v<std::remove_cvref_t<decltype(b.shape())>>;
  // pa + Σ i·s·ea + t = pb + Σ j·r·eb + t'  with j -> n - 1 - j and t' -> eb - 1 - t':
  // Σ i·(s·ea) + t + Σ j'·(r·eb) + t'' = pb - pa + (offset of b's last byte).
  overlap::BoundedSum<RA + RB + 2> sum;
  const auto ea = overlap::wide(sizeof(overlap::element_t<A>)), eb = overlap::wide(sizeof(overlap::element_t<B>));
  for (std::size_t d = 0; d < RA; ++d) sum.add(a.strides()[d] * ea, a.shape()[d] - 1);
  for (std::size_t d = 0; d < RB; ++d) sum.add(b.strides()[d] * eb, b.shape()[d] - 1);
  sum.add(1, ea - 1);
  sum.add(1, eb - 1);
  return sum.solvable(overlap::wide(pb) - overlap::wide(pa) + b_last);
}

// ---- the answers the library acts on -------------------------------------------------------

// True when two distinct indices of v reach the same element (an expanded view, or strides
// that fold onto themselves), which makes v unusable as an output. Exact: when the arithmetic
// is inconclusive the element offsets are listed and compared.
template <class V>
bool has_internal_overlap(const V& v) {
  const Sharing s = internal_sharing(v);
  if (s != Sharing::unknown) return s == Sharing::some;
  std::vector<std::int64_t> offsets;
  overlap::append_offsets(v, overlap::address(v), offsets);
  return overlap::listed_overlap(offsets, static_cast<std::int64_t>(sizeof(overlap::element_t<V>)));
}

// True unless a and b are proven to share no byte (conservative: "unknown" counts as shared).
template <class A, class B>
bool memory_overlaps(const A& a, const B& b) {
  return sharing_between(a, b) != Sharing::none;
}

// Exactly whether two views of one element size, neither overlapping itself, share an
// element (two outputs of one call): when the arithmetic is inconclusive their offsets are
// listed and compared.
template <class A, class B>
bool views_share_elements(const A& a, const B& b) {
  static_assert(sizeof(overlap::element_t<A>) == sizeof(overlap::element_t<B>));
  const Sharing s = sharing_between(a, b);
  if (s != Sharing::unknown) return s == Sharing::some;
  const std::uintptr_t origin = std::min(overlap::address(a), overlap::address(b));
  std::vector<std::int64_t> offsets;
  overlap::append_offsets(a, origin, offsets);
  overlap::append_offsets(b, origin, offsets);
  return overlap::listed_overlap(offsets, static_cast<std::int64_t>(sizeof(overlap::element_t<A>)));
}

}  // namespace detail
TESSEL_NAMESPACE_END
