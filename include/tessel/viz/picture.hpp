// tessel/viz/picture.hpp — what every picture shares around its drawing: the cell size, the
// heading above, the legend below, and the finished document.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/error.hpp"
#include "blocks.hpp"
#include "legend.hpp"
#include "options.hpp"
#include "svg_document.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz::detail {

// Rejects options no picture can honour (shape_error, like every invalid argument).
inline void check_options(std::string_view fn, const Options& opt) {
  tessel::detail::check(std::isfinite(opt.cell_px) && opt.cell_px >= 0, fn,
                        "Options::cell_px must be 0 (automatic) or a positive size in pixels, got ", opt.cell_px);
  tessel::detail::check(std::isfinite(opt.max_edge_px) && opt.max_edge_px > 0, fn,
                        "Options::max_edge_px must be positive, got ", opt.max_edge_px);
  tessel::detail::check(opt.max_cells >= 1, fn, "Options::max_cells must be at least 1, got ", opt.max_cells);
}

// How each axis of a picture is cut: on its own (the default), or all with the block size of
// the longest one (Options::to_scale).
template <std::size_t N>
std::array<AxisCells, N> plan_axes(const Options& opt, const std::array<std::int64_t, N>& sizes) {
  std::array<AxisCells, N> axes;
  std::int64_t longest = 0;
  for (auto n : sizes) longest = std::max(longest, n);
  const AxisCells widest = axis_cells(longest, opt.max_cells);
  for (std::size_t a = 0; a < N; ++a) {
    axes[a] = axis_cells(sizes[a], opt.max_cells);
    if (opt.to_scale && sizes[a] > 0) {
      axes[a].block = widest.block;
      axes[a].cells = (sizes[a] + widest.block - 1) / widest.block;
    }
  }
  return axes;
}

// Pictures with one box per head keep the cell count (and file size) of about one box: the
// budget of cells per axis and the edge length are divided by √nh (a user's cell_px stays).
inline Options per_head_options(const Options& opt, std::int64_t nh) {
  Options o = opt;
  const double root = std::sqrt(static_cast<double>(std::max<std::int64_t>(nh, 1)));
  o.max_cells = std::max<std::int64_t>(1, std::llround(static_cast<double>(opt.max_cells) / root));
  o.max_edge_px = opt.max_edge_px / root;
  return o;
}

// The page size of a cell: the option when given, otherwise as large as reads well (22 px)
// but small enough that the longest axis (in cells) spans about max_edge_px.
inline double cell_px_for(const Options& opt, std::int64_t longest_axis_cells) {
  if (opt.cell_px > 0) return opt.cell_px;
  const double fit = opt.max_edge_px / static_cast<double>(std::max<std::int64_t>(longest_axis_cells, 1));
  return std::clamp(fit, 3.0, 22.0);
}

// Adds the heading above what is drawn so far and the legend below it, and returns the SVG.
inline std::string finish_picture(SvgDocument& doc, const std::string& heading, const std::string& subheading,
                                  const LegendSpec& legend, std::string_view document_title) {
  Bounds drawn = doc.bounds();
  if (drawn.empty()) drawn.add(Point{0, 0});
  const double top = drawn.min_y - 14;
  if (!subheading.empty()) doc.label(Point{drawn.min_x, top}, subheading, 12.5, Anchor::start, "note");
  doc.label(Point{drawn.min_x, subheading.empty() ? top : top - 20}, heading, 16, Anchor::start, "title");
  draw_legend(doc, Point{drawn.min_x, drawn.max_y + 22}, legend);
  return doc.finish(16, picture_css, document_title);
}

}  // namespace viz::detail
TESSEL_NAMESPACE_END
