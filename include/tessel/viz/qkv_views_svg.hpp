// tessel/viz/qkv_views_svg.hpp — the fused-QKV trap as a picture.
//
// A fused projection gives x [b, s, 3·nh·hd]: every row holds the query, key and value of
// every head. Two natural-looking ways to take q as [b, s, nh, hd] both compile and both give
// the right shape:
//   (a) split, then view:  q = x.split(nh·hd, -1)[0].view(b, s, nh, hd)
//   (b) view, then split:  q = x.view(b, s, nh, 3·hd).split(hd, -1)[0]
// Which is right depends only on how the weights that produced x were laid out. The picture
// colours every element of x by its origin (q, k or v; the head by a lighter or darker shade)
// and shows, for each order, which elements of x it calls q and where they land in q. The
// two orders are run on tessel's own views (split, view), and each element of q is traced
// back to x by its value, so the picture shows what the library does, not a re-derivation.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../tessel.hpp"
#include "picture.hpp"
#include "svg_document.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz {

// How the fused weight's output columns are ordered, i.e. where each column of x came from.
enum class QkvLayout {
  // [W_q | W_k | W_v], each block holding the heads in order (GPT-2's c_attn, nn.Linear(h, 3h)
  // split in three): (a) split-then-view is right.
  blocks,
  // [q0 k0 v0 | q1 k1 v1 | ...], one block per head (Megatron-style): (b) view-then-split is right.
  per_head,
};

namespace detail {

struct QkvOrigin {
  int role = 0;  // 0 q, 1 k, 2 v
  std::int64_t head = 0, dim = 0;
};

inline QkvOrigin qkv_origin(QkvLayout layout, std::int64_t col, std::int64_t nh, std::int64_t hd) {
  const std::int64_t h = nh * hd;
  if (layout == QkvLayout::blocks) return {static_cast<int>(col / h), (col % h) / hd, col % hd};
  return {static_cast<int>((col % (3 * hd)) / hd), col / (3 * hd), col % hd};
}

inline const char* role_name(int role) { return role == 0 ? "q" : role == 1 ? "k" : "v"; }

// q blue, k green, v orange; even heads darker, odd heads lighter, so heads stay apart.
inline Rgb origin_colour(const QkvOrigin& o) {
  static constexpr double hue[3] = {218, 140, 30}, sat[3] = {0.62, 0.48, 0.85};
  return hsl_to_rgb(hue[o.role], sat[o.role], o.head % 2 == 0 ? 0.60 : 0.76);
}

// One flat grid of categorical cells in page coordinates (the qkv picture draws elements,
// not values, so it has no colour scale and no aggregation).
struct OriginGrid {
  std::int64_t rows = 0, cols = 0;
  std::vector<QkvOrigin> origin;  // rows × cols
  std::vector<bool> faded;        // empty, or per cell
  std::vector<std::string> tip;   // per cell
  std::vector<double> col_x;      // left edge of each column, relative to the panel
};

inline void draw_origin_grid(SvgDocument& doc, Point at, const OriginGrid& g, double px, const std::string& face,
                             bool tooltips) {
  const double inset = cell_gap(px) * px;
  const bool text = px >= 17;
  doc.begin("g").attr("class", "cells").attr("data-face", face).attr("data-matrix", face);
  for (std::int64_t r = 0; r < g.rows; ++r)
    for (std::int64_t c = 0; c < g.cols; ++c) {
      const auto k = static_cast<std::size_t>(r * g.cols + c);
      const QkvOrigin& o = g.origin[k];
      const bool faded = !g.faded.empty() && g.faded[k];
      const double x = at.x + g.col_x[static_cast<std::size_t>(c)], y = at.y + static_cast<double>(r) * px;
      doc.begin("g");
      if (faded) doc.attr("opacity", "0.18");
      doc.begin("rect")
          .attr("x", x + inset)
          .attr("y", y + inset)
          .attr("width", px - 2 * inset)
          .attr("height", px - 2 * inset)
          .attr("fill", origin_colour(o).hex());
      if (tooltips) doc.title(g.tip[k]);
      doc.end();
      if (text)
        doc.label(Point{x + px / 2, y + px / 2 + 3.5}, std::string(role_name(o.role)) + std::to_string(o.head), 9.5,
                  Anchor::middle, "cellnote");
      doc.end();
    }
  doc.end();
  const double w = g.col_x.empty() ? 0 : g.col_x.back() + px;
  const double h = static_cast<double>(g.rows) * px;
  doc.begin("polygon")
      .attr("class", "panel")
      .attr("data-face", face)
      .attr("data-matrix", face)
      .attr("points", points_text({at, at + Point{w, 0}, at + Point{w, h}, at + Point{0, h}}))
      .end();
  doc.bounds().add(at);
  doc.bounds().add(at + Point{w, h});
}

}  // namespace detail

inline std::string qkv_views_svg(std::int64_t b, std::int64_t s, std::int64_t nh, std::int64_t hd,
                                 QkvLayout layout = QkvLayout::blocks, const Options& opt = {}) {
  constexpr std::string_view fn = "tessel::viz::qkv_views_svg";
  using tessel::detail::check;
  check(b >= 1 && s >= 1 && nh >= 1 && hd >= 1, fn, "b, s, nh and hd must all be at least 1, got b = ", b, ", s = ", s,
        ", nh = ", nh, ", hd = ", hd);
  // Every element is drawn (nothing to aggregate in a picture of where elements go).
  check(b * s <= 64 && 3 * nh * hd <= 256, fn, "the picture draws every element: b·s must be at most 64 and ",
        "3·nh·hd at most 256, got b·s = ", b * s, " and 3·nh·hd = ", 3 * nh * hd);
  detail::check_options(fn, opt);
  const std::int64_t h = nh * hd, w = 3 * h, rows = b * s;

  // x's values are their own flat positions, so every element of a view says where it sits.
  Tensor<float, 3> x({b, s, w});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i);
  const auto xv = x.view();
  const TensorView<float, 4> q_a = xv.split(h, -1)[0].view(b, s, nh, hd);
  const TensorView<float, 4> q_b = xv.view(b, s, nh, 3 * hd).split(hd, -1)[0];

  const double px = opt.cell_px > 0 ? opt.cell_px : std::clamp(2 * opt.max_edge_px / static_cast<double>(w), 7.0, 22.0);
  auto x_grid = [&](const std::vector<bool>& picked) {
    detail::OriginGrid g;
    g.rows = rows;
    g.cols = w;
    for (std::int64_t c = 0; c < w; ++c) g.col_x.push_back(static_cast<double>(c) * px);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < w; ++c) {
        const detail::QkvOrigin o = detail::qkv_origin(layout, c, nh, hd);
        g.origin.push_back(o);
        g.tip.push_back("x[" + std::to_string(r / s) + ", " + std::to_string(r % s) + ", " + std::to_string(c) +
                        "]: " + detail::role_name(o.role) + " of head " + std::to_string(o.head) + ", dim " +
                        std::to_string(o.dim));
      }
    if (!picked.empty()) {
      g.faded.resize(picked.size());
      for (std::size_t k = 0; k < picked.size(); ++k) g.faded[k] = !picked[k];
    }
    return g;
  };
  // q as [b·s, nh·hd] in nh blocks of hd; each cell coloured by the origin of what it reads.
  struct Traced {
    detail::OriginGrid q;
    std::vector<bool> picked;  // per element of x
    std::int64_t right = 0;
  };
  auto trace = [&](const TensorView<float, 4>& q, const char* name) {
    Traced t;
    t.picked.assign(static_cast<std::size_t>(rows * w), false);
    t.q.rows = rows;
    t.q.cols = h;
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t d = 0; d < hd; ++d) t.q.col_x.push_back(static_cast<double>(n * hd + d) * px + static_cast<double>(n) * 6);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t d = 0; d < hd; ++d) {
          const auto flat = static_cast<std::int64_t>(q(r / s, r % s, n, d));
          const std::int64_t col = flat % w;
          t.picked[static_cast<std::size_t>(flat)] = true;
          const detail::QkvOrigin o = detail::qkv_origin(layout, col, nh, hd);
          t.q.origin.push_back(o);
          const bool right = o.role == 0 && o.head == n && o.dim == d && flat / w == r;
          t.right += right ? 1 : 0;
          t.q.tip.push_back(std::string(name) + "[" + std::to_string(r / s) + ", " + std::to_string(r % s) + ", " +
                            std::to_string(n) + ", " + std::to_string(d) + "] reads x[" + std::to_string(r / s) + ", " +
                            std::to_string(r % s) + ", " + std::to_string(col) + "]: " + detail::role_name(o.role) +
                            " of head " + std::to_string(o.head) + (right ? " (right)" : " (wrong)"));
        }
    return t;
  };
  const Traced ta = trace(q_a, "q"), tb = trace(q_b, "q");

  detail::SvgDocument doc;
  const double font = 12.5;
  const std::string dims = "[" + std::to_string(b) + ", " + std::to_string(s) + ", " + std::to_string(w) + "]";
  doc.label(detail::Point{0, 28}, "x " + dims + " as [b·s, 3·nh·hd]: each element coloured by where it came from", font,
            detail::Anchor::start, "name");
  detail::draw_origin_grid(doc, detail::Point{0, 40}, x_grid({}), px, "x", opt.tooltips);
  double y = 40 + static_cast<double>(rows) * px + 26;

  const double panel_w = static_cast<double>(w) * px;
  const double gap = std::max(60.0, 0.12 * panel_w);
  auto column = [&](double x0, const Traced& t, const std::string& title, const std::string& code, const char* tag) {
    double yy = y;
    doc.label(detail::Point{x0, yy}, title, 14, detail::Anchor::start, "title");
    yy += 18;
    doc.label(detail::Point{x0, yy}, code, font, detail::Anchor::start, "code");
    yy += 14;
    detail::draw_origin_grid(doc, detail::Point{x0, yy}, x_grid(t.picked), px, std::string("x-") + tag, opt.tooltips);
    yy += static_cast<double>(rows) * px + 26;
    doc.label(detail::Point{x0, yy}, "q [b, s, nh, hd] as [b·s, nh · hd]: what each element of q reads", font,
              detail::Anchor::start, "name");
    yy += 8;
    for (std::int64_t n = 0; n < nh; ++n)
      doc.label(detail::Point{x0 + t.q.col_x[static_cast<std::size_t>(n * hd)] + static_cast<double>(hd) * px / 2, yy + 8},
                "head " + std::to_string(n), 11, detail::Anchor::middle, "dim");
    yy += 14;
    detail::draw_origin_grid(doc, detail::Point{x0, yy}, t.q, px, std::string("q-") + tag, opt.tooltips);
    yy += static_cast<double>(rows) * px + 22;
    const std::int64_t total = rows * h;
    const bool all_right = t.right == total;
    doc.label(detail::Point{x0, yy},
              all_right ? "✓ every element of q is q of its own head"
                        : "✗ " + std::to_string(total - t.right) + " of " + std::to_string(total) +
                              " elements are k, v or another head's q — and no error is raised",
              13, detail::Anchor::start, all_right ? "good" : "bad");
  };
  column(0, ta, "(a) split, then view", "q = x.split(nh·hd, -1)[0].view(b, s, nh, hd)", "a");
  column(std::max(panel_w, static_cast<double>(h) * px + static_cast<double>(nh) * 6) + gap, tb,
         "(b) view, then split", "q = x.view(b, s, nh, 3·hd).split(hd, -1)[0]", "b");

  // The colour key: one swatch per role and head parity.
  const detail::Bounds drawn = doc.bounds();
  double ky = drawn.max_y + 26, kx = drawn.min_x;
  for (int role = 0; role < 3; ++role) {
    for (std::int64_t head = 0; head < std::min<std::int64_t>(nh, 2); ++head) {
      const Rgb c = detail::origin_colour({role, head, 0});
      doc.begin("rect").attr("x", kx).attr("y", ky - 10).attr("width", 12).attr("height", 12).attr("fill", c.hex()).end();
      kx += 14;
    }
    doc.label(detail::Point{kx + 2, ky}, std::string(detail::role_name(role)) + (role == 0 ? " (query)" : role == 1 ? " (key)" : " (value)"), 12);
    kx += 80;
  }
  doc.label(detail::Point{drawn.min_x, ky + 20}, "Darker and lighter shades alternate between heads; hover a cell to see exactly where it came from.", 12, detail::Anchor::start, "note");
  doc.label(detail::Point{drawn.min_x, ky + 38},
            layout == QkvLayout::blocks
                ? "Weights [W_q | W_k | W_v] (GPT-2's c_attn, one nn.Linear(h, 3h)): split first, then view as heads."
                : "Weights interleaved per head [q0 k0 v0 | q1 k1 v1 | ...] (Megatron-style): view as heads first, then split.",
            12, detail::Anchor::start, "note");
  doc.label(detail::Point{drawn.min_x, ky + 56},
            "Both orders compile and give q the shape [b, s, nh, hd]; only the weights' layout decides which one is right.",
            12, detail::Anchor::start, "note");

  const std::string heading = opt.title.empty() ? "The fused-QKV trap: b = " + std::to_string(b) + ", s = " +
                                                      std::to_string(s) + ", nh = " + std::to_string(nh) +
                                                      ", hd = " + std::to_string(hd)
                                                : opt.title;
  const detail::Bounds all = doc.bounds();
  doc.label(detail::Point{all.min_x, all.min_y - 8}, heading, 16, detail::Anchor::start, "title");
  return doc.finish(16,
                    std::string(detail::picture_css) +
                        ".code{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;fill:#2b2f38}"
                        ".cellnote{fill:#14171d}.good{fill:#1e7a3a;font-weight:bold}.bad{fill:#b3261e;font-weight:bold}",
                    heading);
}

}  // namespace viz
TESSEL_NAMESPACE_END
