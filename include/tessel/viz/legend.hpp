// tessel/viz/legend.hpp — the key under every picture: the colour ramp, the scale of each
// matrix, how large axes were cut into blocks, and what NaN and Inf look like.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "blocks.hpp"
#include "colour_scale.hpp"
#include "face.hpp"
#include "svg_document.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz::detail {

// One colour scale shown in the legend (a matrix, or all of them under global_scale).
struct ScaleEntry {
  std::string name;
  double max_abs = 0;
};

struct LegendSpec {
  std::vector<ScaleEntry> scales;
  bool global = false;
  std::int64_t nan_count = 0, inf_count = 0;
  std::vector<std::string> notes;  // one line each (block sizes, empty operands, ...)
};

// Counts of the special values over the grids of a picture, for the legend.
inline void count_specials(LegendSpec& spec, const std::vector<const CellGrid*>& grids) {
  for (const CellGrid* g : grids) {
    spec.nan_count += g->nan_count;
    spec.inf_count += g->inf_count;
  }
}

// Two lines saying how the aggregated axes were cut ("i 64, k 1, j 64"), or none when every
// cell is one element.
inline std::vector<std::string> block_note(const std::vector<std::pair<std::string, AxisCells>>& axes) {
  std::string parts;
  bool any = false;
  for (const auto& [name, axis] : axes) {
    if (!parts.empty()) parts += ", ";
    parts += name + " " + std::to_string(axis.block);
    any = any || axis.aggregated();
  }
  if (!any) return {};
  return {"Large axes are drawn in blocks; elements per cell: " + parts + " (a short last block is drawn shorter).",
          "Each cell shows the value of largest magnitude in its block, with its sign. Aggregated axes are not to scale."};
}

// Draws the legend with its top-left corner at `at`; returns the y below it.
inline double draw_legend(SvgDocument& doc, Point at, const LegendSpec& spec) {
  const double sw = 13, sh = 11, font = 12;
  const int steps = 7;
  double x = at.x, y = at.y;
  auto swatch = [&](double sx, const Rgb* fill, const char* css_class) {
    doc.begin("rect").attr("x", sx).attr("y", y).attr("width", sw - 1).attr("height", sh);
    if (fill) doc.attr("fill", fill->hex());
    else doc.attr("fill", "none");
    if (css_class) doc.attr("class", css_class);
    doc.end();
    doc.bounds().add(Point{sx, y});
    doc.bounds().add(Point{sx + sw, y + sh});
  };
  for (int s = steps; s >= 1; --s) {
    const Rgb c = ColourScale::ramp(true, static_cast<double>(s) / steps);
    swatch(x, &c, nullptr);
    x += sw;
  }
  swatch(x, nullptr, "zero");
  const double zero_x = x + sw / 2;
  x += sw;
  for (int s = 1; s <= steps; ++s) {
    const Rgb c = ColourScale::ramp(false, static_cast<double>(s) / steps);
    swatch(x, &c, nullptr);
    x += sw;
  }
  const double ramp_end = x;
  double tx = ramp_end + 10;
  if (spec.nan_count > 0) {
    swatch(tx, &ColourScale::nan_colour, "nan");
    doc.label(Point{tx + sw + 4, y + sh - 1}, "NaN (" + std::to_string(spec.nan_count) + ")", font);
    tx += sw + 4 + SvgDocument::text_width("NaN (" + std::to_string(spec.nan_count) + ")", font) + 12;
  }
  if (spec.inf_count > 0) {
    const Rgb c = ColourScale::ramp(false, 1);
    swatch(tx, &c, "inf");
    doc.label(Point{tx + sw + 4, y + sh - 1}, "±Inf (" + std::to_string(spec.inf_count) + ")", font);
  }
  const double ly = y + sh + font + 2;
  doc.label(Point{at.x, ly}, "−max|x|", font - 1, Anchor::start, "note");
  doc.label(Point{zero_x, ly}, "0", font - 1, Anchor::middle, "note");
  doc.label(Point{ramp_end, ly}, "+max|x|", font - 1, Anchor::end, "note");
  y = ly + font + 6;

  std::string scale = spec.global ? "One colour scale for the whole picture: max|x| = " : "max|x| per matrix: ";
  if (spec.global) {
    double m = 0;
    for (const auto& e : spec.scales) m = std::max(m, e.max_abs);
    scale += value_text(m);
  } else {
    for (std::size_t i = 0; i < spec.scales.size(); ++i) {
      if (i) scale += " · ";
      scale += spec.scales[i].name + " " + value_text(spec.scales[i].max_abs);
    }
  }
  doc.label(Point{at.x, y}, scale, font, Anchor::start, "note");
  y += font + 5;
  doc.label(Point{at.x, y},
            "Blue: positive, red: negative, intensity √(|x| / max|x|); blank: exactly 0. Hover a cell for its value.",
            font, Anchor::start, "note");
  y += font + 5;
  if (spec.nan_count > 0 || spec.inf_count > 0) {
    doc.label(Point{at.x, y},
              "NaN is grey; ±Inf has the strongest colour of its sign and a black outline (not part of max|x|).", font,
              Anchor::start, "note");
    y += font + 5;
  }
  for (const std::string& note : spec.notes) {
    doc.label(Point{at.x, y}, note, font, Anchor::start, "note");
    y += font + 5;
  }
  return y;
}

}  // namespace viz::detail
TESSEL_NAMESPACE_END
