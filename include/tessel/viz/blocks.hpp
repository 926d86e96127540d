// tessel/viz/blocks.hpp — a matrix reduced to the cells a picture draws.
//
// A picture stays readable (and its file small) only up to some tens of cells per axis, so a
// longer axis is cut into blocks and each cell stands for a block. What a block shows is the
// element of largest magnitude, with its sign: a sum or mean would cancel the structure away
// (a block of +9 and -9 is not "nothing"), and the largest element is the one a person
// scanning a weight matrix for outliers wants to see. Rules, in this order:
//   - a block holding a NaN shows NaN (a NaN is never hidden by aggregation);
//   - otherwise the element of largest |x| (±Inf counts as the largest), the first one in
//     row-major order on a tie (so +3 and -3 in one block show whichever comes first).
// Each axis is cut on its own (its block size depends only on its length and max_cells), so
// faces that share an axis — L and L @ R share i — always cut it the same way.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/error.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz {

// How one axis of `size` elements is cut into cells of `block` elements (the last cell may
// hold fewer). Positions and lengths are in cell units: every cell but the last is 1 long.
struct AxisCells {
  std::int64_t size = 0;
  std::int64_t block = 1;
  std::int64_t cells = 0;

  std::int64_t first(std::int64_t cell) const { return cell * block; }
  std::int64_t count(std::int64_t cell) const { return std::min(block, size - cell * block); }
  // A short last block is drawn shorter, but never thinner than a quarter cell (an element
  // must stay visible).
  double length(std::int64_t cell) const {
    const std::int64_t n = count(cell);
    return n == block ? 1.0 : std::max(static_cast<double>(n) / static_cast<double>(block), 0.25);
  }
  double position(std::int64_t cell) const { return static_cast<double>(cell); }
  // Drawn length of the whole axis (0 for an empty axis).
  double extent() const { return cells == 0 ? 0.0 : static_cast<double>(cells - 1) + length(cells - 1); }
  bool aggregated() const { return block > 1; }
};

inline AxisCells axis_cells(std::int64_t size, std::int64_t max_cells) {
  tessel::detail::check(max_cells >= 1, "tessel::viz", "Options::max_cells must be at least 1, got ", max_cells);
  AxisCells a;
  a.size = size;
  a.block = size > max_cells ? (size + max_cells - 1) / max_cells : 1;
  a.cells = (size + a.block - 1) / a.block;
  return a;
}

// A matrix as drawn: one value per cell, where that value came from, and what the whole
// matrix holds (for the colour scale and the legend).
struct CellGrid {
  AxisCells rows, cols;
  std::vector<float> value;                  // rows.cells × cols.cells, row-major
  std::vector<std::int64_t> source_row;      // element the cell shows
  std::vector<std::int64_t> source_col;
  double max_abs = 0;                        // largest finite |x| of all elements
  std::int64_t nan_count = 0, inf_count = 0;

  std::size_t index(std::int64_t r, std::int64_t c) const {
    return static_cast<std::size_t>(r * cols.cells + c);
  }
  bool aggregated() const { return rows.aggregated() || cols.aggregated(); }
};

// Reads every element once through element(r, c) (any callable returning a float) and
// keeps, per cell, the value the rules above pick.
template <class Element>
CellGrid aggregate(const AxisCells& rows, const AxisCells& cols, Element&& element) {
  CellGrid g;
  g.rows = rows;
  g.cols = cols;
  const auto n = static_cast<std::size_t>(rows.cells * cols.cells);
  g.value.assign(n, 0.0f);
  g.source_row.assign(n, -1);
  g.source_col.assign(n, -1);
  constexpr float inf = std::numeric_limits<float>::infinity();
  std::vector<float> best(n, -1.0f);  // |value| kept so far (a NaN counts as +inf); -1: nothing yet
  for (std::int64_t r = 0; r < rows.size; ++r) {
    const std::int64_t cr = r / rows.block;
    for (std::int64_t c = 0; c < cols.size; ++c) {
      const float x = static_cast<float>(element(r, c));
      const std::size_t k = g.index(cr, c / cols.block);
      const bool cell_has_nan = best[k] == inf && std::isnan(g.value[k]);
      float magnitude;
      if (std::isnan(x)) {
        ++g.nan_count;
        magnitude = inf;
        if (cell_has_nan) continue;
      } else {
        magnitude = std::fabs(x);
        if (std::isinf(x)) ++g.inf_count;
        else g.max_abs = std::max(g.max_abs, static_cast<double>(magnitude));
        if (cell_has_nan || !(magnitude > best[k])) continue;
      }
      best[k] = magnitude;
      g.value[k] = x;
      g.source_row[k] = r;
      g.source_col[k] = c;
    }
  }
  return g;
}

}  // namespace viz
TESSEL_NAMESPACE_END
