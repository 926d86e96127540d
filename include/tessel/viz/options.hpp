// tessel/viz/options.hpp — the knobs every picture of tessel/viz.hpp takes.
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

TESSEL_NAMESPACE_BEGIN
namespace viz {

struct Options {
  // Side of one drawn cell, in pixels. 0 picks it from the picture: up to 22 px, smaller when
  // an axis has many cells, so that no edge of a box is much longer than `max_edge_px`.
  double cell_px = 0;
  double max_edge_px = 420;

  // Cells per axis before aggregation. An axis of n > max_cells elements is drawn in blocks of
  // ceil(n / max_cells) elements (the last one may be shorter); each cell then shows the value
  // of largest magnitude in its block, with its sign (a block holding a NaN shows NaN, so a
  // NaN is never hidden). Aggregated axes are not drawn to scale; the legend says so and
  // states the block sizes. Must be at least 1. Pictures with one box per head (multi_head_svg,
  // importance_svg) divide it and max_edge_px by √nh, so they hold about as many cells as one box.
  std::int64_t max_cells = 64;

  // Cut every axis of the picture into blocks of the same size (the one its longest axis
  // needs), so that edge lengths stay proportional to the sizes even when aggregated. A short
  // axis may then become a single, thinner cell whose block holds all of it.
  bool to_scale = false;

  // Colour scale. By default every matrix has its own (intensity √(|x| / max|x|) of that
  // matrix, as mm's "local" sensitivity); with global_scale one max|x| is taken over all the
  // matrices of the picture, so their colours compare directly.
  bool global_scale = false;

  // Also shrink each cell with √(|x| / max|x|), as mm sizes its points (colour alone otherwise).
  bool size_by_magnitude = false;

  // A <title> tooltip on every cell with its index and value (block: its range and the
  // position and value of its largest element). Off makes large pictures smaller.
  bool tooltips = true;

  // Heading drawn above the picture; empty: the picture's own.
  std::string title;

  // matmul_svg only: outline row i of L, column j of R and the element (i, j) of L @ R they
  // make, with the sum written out in the legend (mm's way of showing one dot product).
  std::optional<std::pair<std::int64_t, std::int64_t>> highlight;

  // Names used in labels and tooltips of matmul_svg (the result defaults to "L @ R" in the
  // names given).
  std::string left_name = "L";
  std::string right_name = "R";
  std::string result_name;
};

}  // namespace viz
TESSEL_NAMESPACE_END
