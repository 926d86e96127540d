// Tests of gemm/axis.hpp: Axis::of merges exactly the dimensions strides can merge and drops
// size-1 ones; offset() of every index equals the sum of digit·stride computed here by
// explicit loops; for_each_run covers every index once, in order, with runs exactly where the
// elements are consecutive; index lists come first.
#include <catch2/catch.hpp>

#include <tessel/gemm/axis.hpp>

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace {

using tessel::detail::Axis;
using tessel::detail::for_each_run;

// offset of logical i over dims (sizes, strides outermost first), by explicit digits.
std::int64_t digits_offset(const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                           std::int64_t i) {
  std::int64_t off = 0;
  for (std::size_t d = sizes.size(); d-- > 0;) {
    const std::int64_t digit = d == 0 ? i : i % sizes[d];
    off += digit * strides[d];
    i = d == 0 ? 0 : i / sizes[d];
  }
  return off;
}

std::int64_t count(const std::vector<std::int64_t>& sizes) {
  std::int64_t n = 1;
  for (auto s : sizes) n *= s;
  return n;
}

struct Case {
  std::vector<std::int64_t> sizes, strides;
  int dims;  // after merging
};

}  // namespace

TEST_CASE("Axis::of merges what strides merge, and offsets match the digits", "[gemm][axis]") {
  const std::vector<Case> cases = {
      {{7}, {3}, 1},
      {{4, 5}, {5, 1}, 1},            // contiguous rows: one dimension
      {{4, 5}, {1, 4}, 2},            // a transposed pair: two
      {{2, 3, 4}, {12, 4, 1}, 1},     // fully contiguous
      {{2, 3, 4}, {100, 4, 1}, 2},    // the inner two merge
      {{2, 3, 4}, {12, 1, 3}, 3},     // a permutation: nothing merges
      {{2, 1, 3, 1, 5}, {99, 7, 5, 8, 1}, 2},  // size-1 dimensions dropped, 3×5 contiguous
      {{3, 4}, {0, 1}, 2},            // broadcast outer
      {{3, 4}, {0, 0}, 1},            // broadcast both: merges
      {{1, 1}, {5, 9}, 1},            // nothing but size 1
      {{2, 2, 2, 2, 2, 2}, {1000, 300, 90, 27, 8, 1}, 6},
  };
  for (const Case& c : cases) {
    const Axis a = Axis::of(c.sizes.data(), c.strides.data(), static_cast<int>(c.sizes.size()));
    CAPTURE(c.sizes, c.strides);
    CHECK(a.dims == c.dims);
    CHECK(Axis::dims_after_merge(c.sizes.data(), c.strides.data(), static_cast<int>(c.sizes.size())) == c.dims);
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < count(c.sizes); ++i) bad += a.offset(i) != digits_offset(c.sizes, c.strides, i);
    CHECK(bad == 0);
  }
  // Seven dimensions that do not merge do not fit.
  const std::vector<std::int64_t> sizes(7, 2), strides = {5000, 1000, 300, 90, 27, 8, 1};
  CHECK_THROWS_AS(Axis::of(sizes.data(), strides.data(), 7), std::length_error);
  CHECK(Axis::dims_after_merge(sizes.data(), strides.data(), 7) == 7);
}

TEST_CASE("Axis: unit, broadcast and run lengths", "[gemm][axis]") {
  CHECK(Axis::strided(1).is_unit());
  CHECK_FALSE(Axis::strided(2).is_unit());
  CHECK(Axis::strided(0).is_broadcast());
  CHECK(Axis::of({3, 4}, {0, 0}).is_broadcast());
  CHECK_FALSE(Axis::of({3, 4}, {0, 1}).is_broadcast());
  CHECK(Axis::strided(1).unit_run() == Axis::kEndless);
  CHECK(Axis::strided(3).unit_run() == 1);
  CHECK(Axis::of({3, 4}, {10, 1}).unit_run() == 4);
  CHECK(Axis::of({3, 4}, {1, 3 * 4 + 1}).unit_run() == 1);
  const std::int64_t list[] = {2, 0, 1};
  CHECK_FALSE(Axis::strided(1).with_index(list).is_unit());
  CHECK(Axis::strided(1).with_index(list).unit_run() == 1);
}

TEST_CASE("Axis: an index list comes before the dimensions", "[gemm][axis]") {
  const std::vector<std::int64_t> sizes = {3, 4}, strides = {100, 7};
  const std::vector<std::int64_t> list = {11, 0, 5, 4, 7};
  const Axis a = Axis::of(sizes.data(), strides.data(), 2).with_index(list.data());
  for (std::size_t i = 0; i < list.size(); ++i)
    CHECK(a.offset(static_cast<std::int64_t>(i)) == digits_offset(sizes, strides, list[i]));
}

TEST_CASE("for_each_run: every index once, in order, runs exactly where elements are consecutive", "[gemm][axis]") {
  const std::vector<Case> cases = {
      {{50}, {1}, 1}, {{50}, {3}, 1}, {{5, 7}, {20, 1}, 2}, {{3, 4, 5}, {100, 9, 1}, 3},
      {{3, 4, 5}, {1, 3, 12}, 3}, {{4, 6}, {0, 1}, 2}, {{2, 3, 4}, {50, 4, 1}, 2},
  };
  for (const Case& c : cases) {
    const Axis a = Axis::of(c.sizes.data(), c.strides.data(), static_cast<int>(c.sizes.size()));
    const std::int64_t total = count(c.sizes);
    for (std::int64_t first : {std::int64_t{0}, std::int64_t{1}, std::int64_t{6}, total / 2})
      for (std::int64_t n : {std::int64_t{0}, std::int64_t{1}, std::int64_t{5}, total - first}) {
        if (first + n > total) continue;
        CAPTURE(c.sizes, c.strides, first, n);
        std::vector<std::int64_t> got;
        bool maximal = true;
        std::int64_t prev_end = -1;
        for_each_run(a, first, n, [&](std::int64_t off, std::int64_t len) {
          REQUIRE(len >= 1);
          if (off == prev_end) maximal = false;  // two runs that touch should have been one
          for (std::int64_t x = 0; x < len; ++x) got.push_back(off + x);
          prev_end = off + len;
        });
        std::vector<std::int64_t> want;
        for (std::int64_t i = first; i < first + n; ++i) want.push_back(digits_offset(c.sizes, c.strides, i));
        CHECK(got == want);
        // Runs break only where the next element is not the next address, except a stride-0
        // (broadcast) dimension's repeats, which are not runs; merged inner dimensions are.
        if (a.unit_run() > 1) CHECK(maximal);
      }
  }
}
