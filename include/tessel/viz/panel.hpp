// tessel/viz/panel.hpp — a matrix drawn flat (face-on), with its name and axis labels, and
// the measuring that lets pictures place several drawings side by side.
#pragma once

#include "../core/config.hpp"

#include <string>
#include <utility>

#include "face.hpp"
#include "svg_document.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz::detail {

struct PanelSpec {
  FaceSpec face;             // frame.origin is the top-left corner; u and v are set by draw_panel
  std::string caption;       // above the panel, e.g. "A1 [2, 8, 16] as [16, 16]"
  std::string rows_label;    // left of the panel, e.g. "b·s = 16"
  std::string cols_label;    // under the caption, e.g. "h = 16"
};

// A panel of `grid` with its top-left corner at `origin`; captions are filled in by the caller.
inline PanelSpec panel_of(const CellGrid& grid, Point origin, const ColourScale& scale, FaceNames names,
                          std::string face, std::string matrix, double cell_px) {
  PanelSpec p;
  p.face.grid = &grid;
  p.face.frame.origin = origin;
  p.face.scale = scale;
  p.face.names = std::move(names);
  p.face.face = std::move(face);
  p.face.matrix = std::move(matrix);
  p.face.cell_px = cell_px;
  return p;
}

inline void draw_panel(SvgDocument& doc, PanelSpec p, const Options& opt) {
  const double px = p.face.cell_px;
  p.face.frame.u = {px, 0};
  p.face.frame.v = {0, px};
  if (p.face.outline == "face") p.face.outline = "panel";
  draw_face(doc, p.face, opt);
  const Point o = p.face.frame.origin;
  const double w = p.face.grid->cols.extent() * px, h = p.face.grid->rows.extent() * px;
  const double font = 12.5;
  double top = o.y - 8;
  if (!p.cols_label.empty()) {
    doc.label(Point{o.x + w / 2, top}, p.cols_label, font - 0.5, Anchor::middle, "dim");
    top -= font + 4;
  }
  if (!p.caption.empty()) doc.label(Point{o.x, top}, p.caption, font, Anchor::start, "name");
  if (!p.rows_label.empty()) doc.label(Point{o.x - 8, o.y + h / 2 + 4}, p.rows_label, font - 0.5, Anchor::end, "dim");
}

// The bounds a drawing would cover, found by drawing it into a scratch document: pictures
// with several parts place each part by its measured size rather than by guessed label widths.
template <class Draw>
Bounds measure(Draw&& draw) {
  SvgDocument scratch;
  draw(scratch);
  return scratch.bounds();
}

}  // namespace viz::detail
TESSEL_NAMESPACE_END
