// Tests of gemm/block_prefetch.hpp: the lines a LineRuns walks are exactly the cache lines
// of the operand block (every element's line, nothing outside the block's lines), for the
// layouts the engine meets: rows or columns contiguous, unaligned starts, index lists and
// split axes. Expected lines come from each element's address computed here directly.
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <tessel/gemm/block_prefetch.hpp>
#include <vector>

namespace {

using tessel::detail::Axis;
using tessel::detail::block_lines;
using tessel::detail::BlockPrefetch;
using tessel::detail::LineRuns;
using tessel::detail::Operand;

std::uintptr_t line_of(const void* p) { return reinterpret_cast<std::uintptr_t>(p) / 64; }

// The lines the walk visits, in order.
std::vector<std::uintptr_t> walk(LineRuns l) {
  std::vector<std::uintptr_t> lines;
  while (!l.done()) {
    lines.push_back(line_of(l.line));
    l.next();
  }
  return lines;
}

// What a walk must visit: the set of lines of the block [i0, i0+ni) × [j0, j0+nj) (element
// addresses from `at`), and how many visits, one per line of each run (a run is a row of the
// block when rows_are_runs, else a column).
struct Expected {
  std::set<std::uintptr_t> lines;
  std::size_t visits = 0;
};
template <class At>
Expected expected_lines(std::int64_t i0, std::int64_t ni, std::int64_t j0, std::int64_t nj, bool rows_are_runs, At at) {
  Expected e;
  const std::int64_t runs = rows_are_runs ? ni : nj, len = rows_are_runs ? nj : ni;
  for (std::int64_t r = 0; r < runs; ++r) {
    std::set<std::uintptr_t> run_lines;
    for (std::int64_t x = 0; x < len; ++x)
      run_lines.insert(line_of(rows_are_runs ? at(i0 + r, j0 + x) : at(i0 + x, j0 + r)));
    e.visits += run_lines.size();
    e.lines.insert(run_lines.begin(), run_lines.end());
  }
  return e;
}

void check_walk(const std::vector<std::uintptr_t>& got, const Expected& want) {
  CHECK(std::set<std::uintptr_t>(got.begin(), got.end()) == want.lines);
  CHECK(got.size() == want.visits);
}

}  // namespace

TEST_CASE("block_lines: rows contiguous (row-major), unaligned start", "[gemm][prefetch]") {
  std::vector<float> data(64 * 1000 + 64);
  const float* base = data.data() + 3;  // not line-aligned
  const std::int64_t ld = 1000;
  Operand<const float> op{base, Axis::strided(0), Axis::strided(ld), Axis::strided(1)};
  for (auto [i0, ni, j0, nj] : {std::array<std::int64_t, 4>{0, 14, 0, 256}, {5, 9, 13, 1}, {2, 30, 7, 301}}) {
    const auto got = walk(block_lines(op, 0, i0, ni, j0, nj));
    check_walk(got,
               expected_lines(i0, ni, j0, nj, true, [&](std::int64_t i, std::int64_t j) { return base + i * ld + j; }));
  }
}

TEST_CASE("block_lines: columns contiguous (a transposed operand), batch offset", "[gemm][prefetch]") {
  std::vector<std::uint16_t> data(3 * 4096 + 64);
  const std::uint16_t* base = data.data() + 1;
  const std::int64_t ld = 40, batch = 4096;  // element (i, j) at j·ld + i, runs of 2-byte elements
  Operand<const std::uint16_t> op{base, Axis::strided(batch), Axis::strided(1), Axis::strided(ld)};
  const auto got = walk(block_lines(op, 2, 3, 37, 10, 50));
  check_walk(got, expected_lines(3, 37, 10, 50, false,
                                 [&](std::int64_t i, std::int64_t j) { return base + 2 * batch + j * ld + i; }));
}

TEST_CASE("block_lines: gathered rows and split axes", "[gemm][prefetch]") {
  std::vector<float> data(50 * 512);
  const float* base = data.data();
  const std::vector<std::int64_t> index{7, 0, 41, 3, 3, 19};
  Operand<const float> gathered{base, Axis::strided(0), Axis::strided(512).with_index(index.data()), Axis::strided(1)};
  check_walk(
      walk(block_lines(gathered, 0, 1, 5, 17, 100)),
      expected_lines(1, 5, 17, 100, true, [&](std::int64_t i, std::int64_t j) { return base + index[i] * 512 + j; }));
  // Rows as [4, 6] with strides (3000, 500): row i at (i / 6)·3000 + (i % 6)·500.
  Operand<const float> split{base, Axis::strided(0), Axis::of({4, 6}, {3000, 500}), Axis::strided(1)};
  check_walk(walk(block_lines(split, 0, 4, 9, 0, 64)),
             expected_lines(4, 9, 0, 64, true,
                            [&](std::int64_t i, std::int64_t j) { return base + (i / 6) * 3000 + (i % 6) * 500 + j; }));
}

TEST_CASE("block_lines: no unit-stride axis, or an empty block, gives no lines", "[gemm][prefetch]") {
  std::vector<float> data(1000);
  Operand<const float> strided{data.data(), Axis::strided(0), Axis::strided(20), Axis::strided(2)};
  CHECK(block_lines(strided, 0, 0, 4, 0, 4).done());
  Operand<const float> rows{data.data(), Axis::strided(0), Axis::strided(20), Axis::strided(1)};
  CHECK(block_lines(rows, 0, 0, 4, 0, 0).done());
  CHECK(block_lines(rows, 0, 0, 0, 0, 4).done());
}

TEST_CASE("BlockPrefetch: A's lines, then B's, one per step", "[gemm][prefetch]") {
  std::vector<float> a(256), b(256);
  Operand<const float> op_a{a.data(), Axis::strided(0), Axis::strided(16), Axis::strided(1)};
  Operand<const float> op_b{b.data(), Axis::strided(0), Axis::strided(16), Axis::strided(1)};
  BlockPrefetch next;
  next.a = block_lines(op_a, 0, 0, 2, 0, 16);
  next.b = block_lines(op_b, 0, 0, 3, 0, 16);
  const auto a_lines = walk(next.a).size(), b_lines = walk(next.b).size();
  std::size_t steps = 0;
  while (!next.done()) {
    CHECK((steps < a_lines ? !next.a.done() : next.a.done()));
    next.step();
    ++steps;
  }
  CHECK(steps == a_lines + b_lines);
  next.step();  // a step with nothing left is harmless
  CHECK(next.done());
}

TEST_CASE("BlockPrefetch: the next panel at `rate` lines per step, beside the next k block's one", "[gemm][prefetch]") {
  std::vector<float> p(64 * 16), a(256);
  Operand<const float> op_p{p.data(), Axis::strided(0), Axis::strided(16), Axis::strided(1)};
  Operand<const float> op_a{a.data(), Axis::strided(0), Axis::strided(16), Axis::strided(1)};
  for (std::int64_t rate : {1, 3, 7}) {
    BlockPrefetch next;
    next.panel = block_lines(op_p, 0, 0, 64, 0, 16);
    next.rate = rate;
    next.a = block_lines(op_a, 0, 0, 4, 0, 16);
    const auto panel_lines = static_cast<std::int64_t>(walk(next.panel).size());
    const auto a_lines = static_cast<std::int64_t>(walk(next.a).size());
    REQUIRE(panel_lines >= 64);  // 64 rows of 64 bytes: 64 lines, or 128 when the rows are not line-aligned
    std::int64_t steps = 0;
    while (!next.done()) {
      const auto panel_left = static_cast<std::int64_t>(walk(next.panel).size());
      const auto a_left = static_cast<std::int64_t>(walk(next.a).size());
      next.step();
      ++steps;
      CHECK(panel_left - static_cast<std::int64_t>(walk(next.panel).size()) == std::min(rate, panel_left));
      CHECK(a_left - static_cast<std::int64_t>(walk(next.a).size()) == std::min<std::int64_t>(1, a_left));
    }
    INFO("rate " << rate);
    CHECK(steps == std::max((panel_lines + rate - 1) / rate, a_lines));
  }
}
