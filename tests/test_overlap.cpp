// Tests of tessel/core/overlap.hpp: whether strided views share memory, against a brute-force
// answer (the set of bytes each view covers, listed), for every small layout of a random
// sweep and for the named cases of issue 11 (slices side by side in one buffer, the [2, 2]
// view with strides {3, 2}).
#include <catch2/catch.hpp>

#include <tessel/core/overlap.hpp>
#include <tessel/core/tensor_view.hpp>
#include <tessel/core/dtype.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

using tessel::Shape;
using tessel::TensorView;
using tessel::detail::Sharing;

namespace {

// The byte addresses a view covers, listed element by element.
template <class T, std::size_t R>
std::multiset<std::uintptr_t> bytes_of(const TensorView<T, R>& v) {
  std::multiset<std::uintptr_t> out;
  if (v.numel() == 0) return out;
  std::array<std::int64_t, R> idx{};
  while (true) {
    std::int64_t off = 0;
    for (std::size_t d = 0; d < R; ++d) off += idx[d] * v.strides()[d];
    const auto base = reinterpret_cast<std::uintptr_t>(v.data() + off);
    for (std::size_t b = 0; b < sizeof(T); ++b) out.insert(base + b);
    std::size_t d = R;
    while (d > 0 && ++idx[d - 1] == v.shape()[d - 1]) idx[--d] = 0;
    if (d == 0) break;
  }
  return out;
}

template <class T, std::size_t R>
bool brute_internal(const TensorView<T, R>& v) {
  const auto bytes = bytes_of(v);
  return std::set<std::uintptr_t>(bytes.begin(), bytes.end()).size() != bytes.size();
}

template <class A, std::size_t RA, class B, std::size_t RB>
bool brute_between(const TensorView<A, RA>& a, const TensorView<B, RB>& b) {
  const auto x = bytes_of(a);
  const auto y = bytes_of(b);
  for (auto p : x)
    if (y.count(p)) return true;
  return false;
}

// A random view of T elements among the first `capacity` elements from `base`, with sizes in
// [0, 4] and strides in [0, 7] (so stride-0, repeated and interleaved strides all occur).
template <class T, std::size_t R>
TensorView<T, R> random_view(T* base, std::int64_t capacity, std::mt19937& rng) {
  while (true) {
    Shape<R> shape{}, strides{};
    std::int64_t last = 0;
    for (std::size_t d = 0; d < R; ++d) {
      shape[d] = std::uniform_int_distribution<std::int64_t>(0, 4)(rng);
      strides[d] = std::uniform_int_distribution<std::int64_t>(0, 7)(rng);
      last += shape[d] > 0 ? (shape[d] - 1) * strides[d] : 0;
    }
    const std::int64_t room = capacity - last - 1;
    if (room < 0) continue;
    return TensorView<T, R>(base + std::uniform_int_distribution<std::int64_t>(0, room)(rng), shape, strides);
  }
}

struct Tally {
  int cases = 0, shared = 0, unknown = 0;
};

template <std::size_t R>
void sweep_internal(Tally& tally, std::uint32_t seed) {
  std::vector<float> buffer(96);
  std::mt19937 rng(seed);
  for (int i = 0; i < 4000; ++i) {
    const auto v = random_view<float, R>(buffer.data(), 96, rng);
    const bool truth = brute_internal(v);
    const Sharing s = tessel::detail::internal_sharing(v);
    INFO("shape " << tessel::detail::shape_string(v.shape()) << " strides "
                  << tessel::detail::shape_string(v.strides()));
    if (s != Sharing::unknown) REQUIRE((s == Sharing::some) == truth);
    REQUIRE(tessel::detail::has_internal_overlap(v) == truth);
    ++tally.cases;
    tally.shared += truth;
    tally.unknown += s == Sharing::unknown;
  }
}

// Pairs of views of element types A and B inside the same 192 bytes.
template <class A, std::size_t RA, class B, std::size_t RB>
void sweep_between(Tally& tally, std::uint32_t seed) {
  std::vector<float> storage(48);
  // (Only the views' addresses are used: no element is read through the other type.)
  auto* as = reinterpret_cast<A*>(storage.data());
  auto* bs = reinterpret_cast<B*>(storage.data());
  std::mt19937 rng(seed);
  for (int i = 0; i < 4000; ++i) {
    const auto a = random_view<A, RA>(as, 192 / sizeof(A), rng);
    const auto b = random_view<B, RB>(bs, 192 / sizeof(B), rng);
    const bool truth = brute_between(a, b);
    const Sharing s = tessel::detail::sharing_between(a, b);
    INFO("a: shape " << tessel::detail::shape_string(a.shape()) << " strides "
                     << tessel::detail::shape_string(a.strides()) << " at element " << a.data() - as
                     << "; b: shape " << tessel::detail::shape_string(b.shape()) << " strides "
                     << tessel::detail::shape_string(b.strides()) << " at element " << b.data() - bs);
    if (s != Sharing::unknown) REQUIRE((s == Sharing::some) == truth);
    REQUIRE(tessel::detail::memory_overlaps(a, b) == (truth || s == Sharing::unknown));
    if constexpr (sizeof(A) == sizeof(B)) {
      if (!brute_internal(a) && !brute_internal(b)) REQUIRE(tessel::detail::views_share_elements(a, b) == truth);
    }
    ++tally.cases;
    tally.shared += truth;
    tally.unknown += s == Sharing::unknown;
  }
}

}  // namespace

TEST_CASE("overlap: the layouts of issue 11 are decided exactly", "[overlap]") {
  std::vector<float> buf(12);
  const TensorView<float, 2> all(buf.data(), {2, 6});
  // buf[:, 0:3] and buf[:, 3:6]: interleaved address ranges, no common element.
  const auto left = all.narrow(1, 0, 3), right = all.narrow(1, 3, 3), middle = all.narrow(1, 2, 3);
  CHECK(tessel::detail::sharing_between(left, right) == Sharing::none);
  CHECK(tessel::detail::sharing_between(right, left) == Sharing::none);
  CHECK_FALSE(tessel::detail::memory_overlaps(left, right));
  CHECK(tessel::detail::sharing_between(left, middle) == Sharing::some);  // column 2
  CHECK(tessel::detail::sharing_between(middle, right) == Sharing::some);  // columns 3 and 4
  // Even and odd elements of one buffer.
  const TensorView<float, 1> even(buf.data(), {6}, {2}), odd(buf.data() + 1, {6}, {2});
  CHECK(tessel::detail::sharing_between(even, odd) == Sharing::none);
  CHECK(tessel::detail::sharing_between(even, even.narrow(0, 1, 2)) == Sharing::some);

  // [2, 2] with strides {3, 2}: offsets 0, 2, 3, 5, all distinct.
  const TensorView<float, 2> folded(buf.data(), {2, 2}, {3, 2});
  CHECK(tessel::detail::internal_sharing(folded) == Sharing::none);
  CHECK_FALSE(tessel::detail::has_internal_overlap(folded));
  // ...and with strides {1, 1} (offsets 0, 1, 1, 2), {2, 1} on [2, 3] (offsets 0..2, 2..4), or an
  // expanded dimension, elements repeat.
  CHECK(tessel::detail::has_internal_overlap(TensorView<float, 2>(buf.data(), {2, 2}, {1, 1})));
  CHECK(tessel::detail::has_internal_overlap(TensorView<float, 2>(buf.data(), {2, 3}, {2, 1})));
  CHECK(tessel::detail::has_internal_overlap(TensorView<float, 2>(buf.data(), {3, 2}, {0, 1})));
  CHECK_FALSE(tessel::detail::has_internal_overlap(TensorView<float, 2>(buf.data(), {1, 2}, {0, 1})));
  CHECK_FALSE(tessel::detail::has_internal_overlap(TensorView<float, 2>(buf.data(), {2, 3}, {3, 1})));

  // Element types of different sizes: bytes, not elements, decide. A bfloat16 view of the
  // upper halves of the floats shares with the float view, one shifted by a whole float not.
  const TensorView<float, 1> first3(buf.data(), {3});
  auto* halves = reinterpret_cast<tessel::bfloat16*>(buf.data());
  CHECK(tessel::detail::sharing_between(first3, TensorView<tessel::bfloat16, 1>(halves + 1, {3}, {2})) ==
        Sharing::some);
  CHECK(tessel::detail::sharing_between(first3, TensorView<tessel::bfloat16, 1>(halves + 6, {3}, {2})) ==
        Sharing::none);
  // Empty views share nothing.
  CHECK(tessel::detail::sharing_between(all, all.narrow(0, 0, 0)) == Sharing::none);
  CHECK_FALSE(tessel::detail::has_internal_overlap(TensorView<float, 2>(buf.data(), {0, 3}, {0, 0})));
}

TEST_CASE("overlap: self-overlap agrees with brute force on every small layout", "[overlap]") {
  Tally tally;
  sweep_internal<1>(tally, 1);
  sweep_internal<2>(tally, 2);
  sweep_internal<3>(tally, 3);
  sweep_internal<4>(tally, 4);
  INFO(tally.cases << " layouts, " << tally.shared << " self-overlapping, " << tally.unknown << " undecided");
  CHECK(tally.shared > tally.cases / 10);        // the sweep covers both answers
  CHECK(tally.shared < tally.cases * 9 / 10);
  CHECK(tally.unknown == 0);                     // small layouts never exhaust the budget
}

TEST_CASE("overlap: sharing between two views agrees with brute force on every small layout", "[overlap]") {
  Tally tally;
  sweep_between<float, 1, float, 1>(tally, 11);
  sweep_between<float, 2, float, 2>(tally, 12);
  sweep_between<float, 2, float, 3>(tally, 13);
  sweep_between<float, 3, float, 1>(tally, 14);
  sweep_between<tessel::bfloat16, 2, float, 2>(tally, 15);
  sweep_between<float, 3, tessel::float16, 3>(tally, 16);
  INFO(tally.cases << " pairs, " << tally.shared << " sharing memory, " << tally.unknown << " undecided");
  CHECK(tally.shared > tally.cases / 10);
  CHECK(tally.shared < tally.cases * 9 / 10);
  CHECK(tally.unknown == 0);
}

TEST_CASE("overlap: a layout past the work budget is answered conservatively and exactly by listing", "[overlap]") {
  std::vector<float> buf(42000);
  // Offsets 202·i + 206·j (i < 103, j < 101: all even and all distinct) against 2·q + 1 (all
  // odd): disjoint, but neither multiplier is forced by the arithmetic, so the solver has to
  // try them in turn, more than its budget allows.
  const TensorView<float, 2> lattice(buf.data(), {103, 101}, {202, 206});
  const TensorView<float, 1> odd(buf.data() + 1, {12000}, {2});
  REQUIRE(tessel::detail::sharing_between(odd, lattice) == Sharing::unknown);
  CHECK(tessel::detail::memory_overlaps(odd, lattice));  // conservative
  CHECK_FALSE(tessel::detail::has_internal_overlap(lattice));
  CHECK_FALSE(tessel::detail::views_share_elements(odd, lattice));  // listed: exact
  CHECK_FALSE(tessel::detail::views_share_elements(lattice, odd));
  // With every third element from 1 they do share (202 = 1 + 3·67), found within the budget.
  const TensorView<float, 1> thirds(buf.data() + 1, {2000}, {3});
  CHECK(tessel::detail::sharing_between(thirds, lattice) == Sharing::some);
  CHECK(tessel::detail::views_share_elements(thirds, lattice));
}
