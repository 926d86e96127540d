// tessel/viz/face.hpp — drawing a CellGrid onto a face: a parallelogram of the page.
//
// A face is an affine frame: `origin` is the corner of cell (0, 0), `u` the page vector of one
// cell along the columns, `v` along the rows. The same cells drawn through a different frame
// are a flat panel, the left, top or front face of an isometric box. The cells are written
// as plain <rect>s in the face's own cell coordinates inside one <g transform="matrix(...)">,
// so a cell costs one short element whatever the projection.
//
// Every cell of the grid is one element (a zero too, with fill="none" and a faint outline, so
// the grid stays visible and its tooltip works). Each face ends with its outline, a
// <polygon class="face"> in page coordinates that names the face and its matrix
// (data-face, data-matrix): tests and readers of the SVG find the faces by it.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "blocks.hpp"
#include "colour_scale.hpp"
#include "options.hpp"
#include "svg_document.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz::detail {

struct Frame {
  Point origin, u, v;
  Point at(double cu, double cv) const { return origin + cu * u + cv * v; }
  std::string svg_matrix() const {
    std::string s = "matrix(";
    for (double x : {u.x, u.y, v.x, v.y}) {
      append_number(s, x, 4);
      s += ' ';
    }
    append_number(s, origin.x, 3);
    s += ' ';
    append_number(s, origin.y, 3);
    return s + ')';
  }
};

// A value as tooltips and legends print it: five significant digits, inf and nan spelled out.
inline std::string value_text(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x < 0 ? "-inf" : "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.5g", x);
  return buf;
}

inline std::string range_text(std::int64_t first, std::int64_t count) {
  if (count == 1) return std::to_string(first);
  return std::to_string(first) + ":" + std::to_string(first + count);
}

// How a face names its elements in tooltips: element(r, c) gives "A1[0, 3, 5]" in the
// user's own indexing; `name` heads block tooltips ("L[0:64, 128:192]").
struct FaceNames {
  std::string name;
  std::function<std::string(std::int64_t, std::int64_t)> element;
};

inline FaceNames matrix_names(std::string name) {
  FaceNames n;
  n.name = name;
  n.element = [name](std::int64_t r, std::int64_t c) {
    return name + "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
  };
  return n;
}

// Inset of a cell inside its slot, in cell units: a thin white gap between cells reads as a
// mosaic (mm draws separate points) and keeps neighbours of one colour apart.
inline double cell_gap(double cell_px) {
  const double gap_px = cell_px >= 12 ? 1.6 : cell_px >= 6 ? 0.8 : 0.0;
  return cell_px > 0 ? gap_px / (2 * cell_px) : 0;
}

// One face's cells. `row_faded` (empty or one flag per cell row) draws the marked rows at
// low opacity: the importance picture fades the rows that were not selected.
struct FaceSpec {
  const CellGrid* grid = nullptr;
  Frame frame;
  ColourScale scale;
  FaceNames names;
  std::string face;     // data-face: "left", "top", "front", or a panel's role
  std::string matrix;   // data-matrix: what the face shows
  double cell_px = 10;  // page length of one cell, for the gaps
  std::vector<bool> row_faded;
  std::string outline = "face";  // CSS class of the outline: "face" on boxes, "panel" on flat panels
};

inline std::string cell_tooltip(const FaceSpec& f, std::int64_t r, std::int64_t c) {
  const CellGrid& g = *f.grid;
  const std::size_t k = g.index(r, c);
  const std::int64_t rn = g.rows.count(r), cn = g.cols.count(c);
  if (rn == 1 && cn == 1)
    return f.names.element(g.rows.first(r), g.cols.first(c)) + " = " + value_text(g.value[k]);
  // Blocks name their rows and columns in the face's own indexing, then the element shown.
  std::string s = f.names.name + "[" + range_text(g.rows.first(r), rn) + ", " + range_text(g.cols.first(c), cn) + "]: ";
  if (std::isnan(g.value[k])) return s + "NaN at " + f.names.element(g.source_row[k], g.source_col[k]);
  if (g.value[k] == 0) return s + "all 0";
  return s + "largest |x| at " + f.names.element(g.source_row[k], g.source_col[k]) + " = " + value_text(g.value[k]);
}

// Writes the cells (no outline; see draw_outline).
inline void draw_cells(SvgDocument& doc, const FaceSpec& f, const Options& opt) {
  const CellGrid& g = *f.grid;
  doc.begin("g")
      .attr("class", "cells")
      .attr("data-face", f.face)
      .attr("data-matrix", f.matrix)
      .attr("transform", f.frame.svg_matrix());
  const double inset = cell_gap(f.cell_px);
  for (std::int64_t r = 0; r < g.rows.cells; ++r) {
    const bool faded = !f.row_faded.empty() && f.row_faded[static_cast<std::size_t>(r)];
    if (faded) doc.begin("g").attr("opacity", "0.16");
    const double v0 = g.rows.position(r), dv = g.rows.length(r);
    for (std::int64_t c = 0; c < g.cols.cells; ++c) {
      const double u0 = g.cols.position(c), du = g.cols.length(c);
      const CellColour colour = f.scale.colour(g.value[g.index(r, c)]);
      // Shrinking with magnitude (mm's point size) keeps a floor so a cell stays visible.
      const double shrink = opt.size_by_magnitude && colour.kind == CellKind::number ? 0.3 + 0.7 * colour.intensity : 1.0;
      const double iu = std::min(inset, du / 4), iv = std::min(inset, dv / 4);
      const double w = (du - 2 * iu) * shrink, h = (dv - 2 * iv) * shrink;
      doc.begin("rect")
          .attr("x", u0 + (du - w) / 2, 3)
          .attr("y", v0 + (dv - h) / 2, 3)
          .attr("width", w, 3)
          .attr("height", h, 3);
      switch (colour.kind) {
        case CellKind::zero: doc.attr("fill", "none").attr("class", "zero"); break;
        case CellKind::number: doc.attr("fill", colour.fill.hex()); break;
        case CellKind::infinite: doc.attr("fill", colour.fill.hex()).attr("class", "inf"); break;
        case CellKind::nan: doc.attr("fill", colour.fill.hex()).attr("class", "nan"); break;
      }
      if (opt.tooltips) doc.title(cell_tooltip(f, r, c));
      doc.end();
    }
    if (faded) doc.end();
  }
  doc.end();
  // The face's extent (a face with no cells still has a place on the page).
  for (double cu : {0.0, g.cols.extent()})
    for (double cv : {0.0, g.rows.extent()}) doc.bounds().add(f.frame.at(cu, cv));
}

inline std::string points_text(const std::vector<Point>& pts) {
  std::string s;
  for (const Point& p : pts) {
    if (!s.empty()) s += ' ';
    append_number(s, p.x);
    s += ',';
    append_number(s, p.y);
  }
  return s;
}

// The face's border in page coordinates, named for whoever reads the SVG.
inline void draw_outline(SvgDocument& doc, const Frame& frame, double cols_extent, double rows_extent,
                         std::string_view face, std::string_view matrix, std::string_view css_class = "face") {
  const std::vector<Point> corners = {frame.at(0, 0), frame.at(cols_extent, 0), frame.at(cols_extent, rows_extent),
                                      frame.at(0, rows_extent)};
  doc.begin("polygon")
      .attr("class", css_class)
      .attr("data-face", face)
      .attr("data-matrix", matrix)
      .attr("points", points_text(corners))
      .end();
  for (const Point& p : corners) doc.bounds().add(p);
}

inline void draw_face(SvgDocument& doc, const FaceSpec& f, const Options& opt) {
  // An opaque white ground: the gaps between cells must hide the box's dashed hidden edges.
  const double w = f.grid->cols.extent(), h = f.grid->rows.extent();
  doc.begin("polygon")
      .attr("class", "ground")
      .attr("points", points_text({f.frame.at(0, 0), f.frame.at(w, 0), f.frame.at(w, h), f.frame.at(0, h)}))
      .end();
  draw_cells(doc, f, opt);
  draw_outline(doc, f.frame, f.grid->cols.extent(), f.grid->rows.extent(), f.face, f.matrix, f.outline);
}

// The CSS every picture shares: text styles, the outline of faces and of special cells.
inline constexpr std::string_view picture_css =
    "text{font-family:Helvetica,Arial,'DejaVu Sans','Liberation Sans',sans-serif;fill:#2b2f38}"
    ".title{font-weight:bold;fill:#1d2129}"
    ".name{font-weight:bold}"
    ".dim{fill:#3f4757}"
    ".note{fill:#5b6372}"
    ".face{fill:none;stroke:#4b5263;stroke-width:1.1;stroke-linejoin:round}"
    ".panel{fill:none;stroke:#4b5263;stroke-width:1}"
    ".zero{stroke:#d9dde4;stroke-width:0.6;vector-effect:non-scaling-stroke;pointer-events:all}"
    ".inf{stroke:#111111;stroke-width:1.4;vector-effect:non-scaling-stroke}"
    ".nan{stroke:#55595f;stroke-width:0.8;stroke-dasharray:2 1;vector-effect:non-scaling-stroke}"
    ".hidden-edge{fill:none;stroke:#9aa1ae;stroke-width:0.9;stroke-dasharray:3 3}"
    ".arrow{fill:none;stroke:#3f4757;stroke-width:1.1}"
    ".arrowhead{fill:#3f4757}"
    ".link{fill:none;stroke:#8a93a3;stroke-width:0.8}"
    ".mark{fill:none;stroke:#1d2129;stroke-width:1.8}"
    ".ground{fill:#ffffff}"
    ".badge{fill:#ffffff;fill-opacity:0.86;stroke:#4b5263;stroke-width:0.8}";

}  // namespace viz::detail
TESSEL_NAMESPACE_END
