// tessel/viz/box.hpp — the isometric box of one matmul, as bhosmer/mm lays it out.
//
// In 3-D the product C = L @ R is a box of i × j × k cells: C[i, j] collects L[i, k] · R[k, j]
// along k, so L stands on the left face (rows along i, k running towards the viewer), R lies
// on the top face (rows along k, columns along j) and C is the front face, sharing the i edge
// with L and the j edge with R. Seen from the front-left-top (isometric: i straight down, j
// up to the right, k up to the left, 30° off horizontal), those are exactly the three visible
// faces and every matrix reads as usual: L's columns left to right, R's rows top to bottom,
// C's rows top to bottom. The hidden edges of the box are dashed, so it reads as a solid.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "face.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz::detail {

// Page vectors of one cell along the three axes.
struct Isometric {
  Point x, y, z;  // j (right, up), i (down), k backwards (left, up)
  explicit Isometric(double cell_px) {
    const double c = std::sqrt(3.0) / 2;
    x = {c * cell_px, -0.5 * cell_px};
    y = {0, cell_px};
    z = {-c * cell_px, -0.5 * cell_px};
  }
};

// One face of a box: its cells, colour scale and names.
struct BoxFace {
  const CellGrid* grid = nullptr;
  ColourScale scale;
  FaceNames names;
  std::string label;  // caption next to the face, e.g. "L [8, 6]"
  std::vector<bool> row_faded;
};

struct BoxSpec {
  Point origin;       // the front-top-left corner (where the three faces meet)
  double cell_px = 16;
  BoxFace left, top, front;
  std::string i_label, k_label, j_label;  // "i = 8"
  std::string id;     // prefix of data-matrix names when a picture has several boxes
  // Cell (row, column) of the front face to trace back to its row of the left face and its
  // column of the top face (Options::highlight).
  std::optional<std::pair<std::int64_t, std::int64_t>> highlight;
};

inline double font_for(double cell_px) { return cell_px >= 14 ? 13 : 12; }

// An arrow from a to b with its head at b (the direction an index grows).
inline void draw_arrow(SvgDocument& doc, Point a, Point b) {
  const Point d = b - a;
  const double len = std::hypot(d.x, d.y);
  if (len < 1e-9) return;
  const Point t{d.x / len, d.y / len}, n{-t.y, t.x};
  const double head = std::min(7.0, len / 2);
  const Point base = b - head * t;
  doc.line(a, base, "arrow");
  const Point p1 = base + 3.2 * n, p2 = base - 3.2 * n;
  doc.begin("polygon").attr("class", "arrowhead").attr("points", points_text({b, p1, p2})).end();
  doc.bounds().add(b);
}

// A dimension label: an arrow parallel to the edge a → b, `gap` px outside it (on the side
// of `outward`, a unit vector), and the text beyond it, turned along the edge when `along`.
inline void draw_dimension(SvgDocument& doc, Point a, Point b, Point outward, const std::string& text, double font,
                           bool along) {
  const double gap = 9;
  const Point shift = gap * outward;
  const Point d = b - a;
  const double len = std::hypot(d.x, d.y);
  // Keep the arrow off the corners so that neighbouring labels do not touch.
  const double trim = len > 24 ? 6 : 0;
  const Point t = len > 0 ? Point{d.x / len, d.y / len} : Point{1, 0};
  draw_arrow(doc, a + shift + trim * t, b + shift - trim * t);
  const Point mid = 0.5 * (a + b) + (gap + 7 + 0.35 * font) * outward;
  if (along) {
    const double degrees = std::atan2(d.y, d.x) * 180.0 / 3.14159265358979323846;
    doc.label(mid + Point{0, 0.35 * font}, text, font, Anchor::middle, "dim", degrees);
  } else {
    doc.label(mid + Point{0, 0.35 * font}, text, font, outward.x < 0 ? Anchor::end : Anchor::start, "dim");
  }
}

inline void draw_box(SvgDocument& doc, const BoxSpec& b, const Options& opt) {
  const Isometric iso(b.cell_px);
  const double I = b.front.grid->rows.extent(), J = b.front.grid->cols.extent(), K = b.left.grid->cols.extent();
  const Point O = b.origin;
  const Point back = O + K * iso.z;
  const double font = font_for(b.cell_px);

  // Hidden edges first, behind the faces: from the far corner to its three neighbours.
  const Point far = O + J * iso.x + I * iso.y + K * iso.z;
  for (const Point& to : {O + I * iso.y + K * iso.z, O + J * iso.x + K * iso.z, O + J * iso.x + I * iso.y})
    doc.line(far, to, "hidden-edge");

  auto face = [&](const BoxFace& f, Frame frame, const char* which) {
    FaceSpec s;
    s.grid = f.grid;
    s.frame = frame;
    s.scale = f.scale;
    s.names = f.names;
    s.face = which;
    s.matrix = b.id.empty() ? f.names.name : b.id + ": " + f.names.name;
    s.cell_px = b.cell_px;
    s.row_faded = f.row_faded;
    draw_face(doc, s, opt);
  };
  face(b.front, Frame{O, iso.x, iso.y}, "front");
  face(b.left, Frame{back, -1.0 * iso.z, iso.y}, "left");
  face(b.top, Frame{back, iso.x, -1.0 * iso.z}, "top");

  if (b.highlight) {
    // Row i of L runs along k on the left face, column j of R along k on the top face; they
    // meet over cell (i, j) of the front face.
    const auto [r, c] = *b.highlight;
    const AxisCells& rows = b.front.grid->rows;
    const AxisCells& cols = b.front.grid->cols;
    const double r0 = rows.position(r), r1 = r0 + rows.length(r), c0 = cols.position(c), c1 = c0 + cols.length(c);
    auto outline = [&](const Frame& f, double u0, double v0, double u1, double v1) {
      doc.begin("polygon")
          .attr("class", "mark")
          .attr("points", points_text({f.at(u0, v0), f.at(u1, v0), f.at(u1, v1), f.at(u0, v1)}))
          .end();
    };
    outline(Frame{back, -1.0 * iso.z, iso.y}, 0, r0, K, r1);
    outline(Frame{back, iso.x, -1.0 * iso.z}, c0, 0, c1, K);
    outline(Frame{O, iso.x, iso.y}, c0, r0, c1, r1);
  }

  // Dimensions: i down the left face's back edge, k along its bottom edge (towards the
  // front), j along the front face's bottom edge.
  const double c = std::sqrt(3.0) / 2;
  draw_dimension(doc, back, back + I * iso.y, Point{-1, 0}, b.i_label, font, false);
  draw_dimension(doc, back + I * iso.y, O + I * iso.y, Point{-0.5, c}, b.k_label, font, true);
  draw_dimension(doc, O + I * iso.y, O + I * iso.y + J * iso.x, Point{0.5, c}, b.j_label, font, true);

  // Captions: L above-left of its face, R to the right of the top corner, the result to the
  // right of the front face.
  doc.label(back + Point{-8, -10}, b.left.label, font, Anchor::end, "name");
  doc.label(back + J * iso.x + Point{10, -2}, b.top.label, font, Anchor::start, "name");
  doc.label(O + J * iso.x + 0.5 * I * iso.y + Point{12, 0.35 * font}, b.front.label, font, Anchor::start, "name");
}

}  // namespace viz::detail
TESSEL_NAMESPACE_END
