// tessel/viz/importance_svg.hpp — the importance matmul (SPEC §2) as a picture.
//
// Top row, left to right: P [b, s] as a column of b·s cells with the selected positions
// outlined; A1 as [b·s, h] with the rows that were not selected faded; A3 = the selected rows
// gathered in selection order (flat position i·s + j ascending), each linked to the row of A1
// it came from. Under it, one box per head: A3's column block n on the left face, W1's row
// block n on top, O3[:, n, :] in front, its rows in the same selection order. The selection
// and O3 come from tessel::matmul_with_importance itself.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../tessel.hpp"
#include "blocks.hpp"
#include "box.hpp"
#include "multi_head_svg.hpp"
#include "panel.hpp"
#include "picture.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz {

namespace detail {

// Thin dashed lines between the heads' column blocks of a flat [rows, h] panel (only when
// its columns are single elements, so the boundaries fall between cells).
inline void draw_head_separators(SvgDocument& doc, Point origin, const CellGrid& g, std::int64_t nh, std::int64_t hd,
                                 double px) {
  if (g.cols.aggregated() || g.rows.cells == 0) return;
  for (std::int64_t n = 1; n < nh; ++n) {
    const double x = origin.x + static_cast<double>(n * hd) * px;
    doc.line(Point{x, origin.y - 4}, Point{x, origin.y + g.rows.extent() * px + 4}, "hidden-edge");
  }
}

}  // namespace detail

template <ElementType T>
std::string importance_svg(TensorView<const T, 3> A1, TensorView<const T, 2> W1, TensorView<const T, 2> P,
                           std::int64_t num_heads, ImportanceOptions options = {}, const Options& opt = {}) {
  constexpr std::string_view fn = "tessel::viz::importance_svg";
  using tessel::detail::check;
  detail::check_head_split<T>(fn, A1, W1, num_heads);
  check(P.size(0) == A1.size(0) && P.size(1) == A1.size(1), fn, "P has shape ", P.shape(), " but A1 ", A1.shape(),
        " needs P of shape [", A1.size(0), ", ", A1.size(1), "]");
  check(options.top_p >= 0.0 && options.top_p <= 1.0, fn, "top_p must be in [0, 1], got ", options.top_p);
  if (options.top_k)
    check(*options.top_k >= 1 && *options.top_k <= A1.size(1), fn, "top_k must be in [1, s] = [1, ", A1.size(1),
          "], got ", *options.top_k);
  detail::check_options(fn, opt);

  const ImportanceResult<T> result = tessel::matmul_with_importance(A1, W1, P, num_heads, options);
  const auto o3 = result.output.view();
  const std::vector<std::int64_t>& sel = result.selected;
  const std::int64_t b = A1.size(0), s = A1.size(1), h = A1.size(2), e = W1.size(1), nh = num_heads, hd = h / nh;
  const auto t = static_cast<std::int64_t>(sel.size());

  // The flat panels (P, A1, A3) get the full cell budget; the head boxes share it (√nh).
  const Options head_opt = detail::per_head_options(opt, nh);
  const auto [pos_ax, h_ax] = detail::plan_axes<2>(opt, {b * s, h});
  const auto [t_ax, hd_ax, e_ax] = detail::plan_axes<3>(head_opt, {t, hd, e});
  const AxisCells one = axis_cells(1, 1);
  auto a1 = [&](std::int64_t p, std::int64_t c) { return to_float(A1(p / s, p % s, c)); };
  const CellGrid gp = aggregate(pos_ax, one, [&](std::int64_t p, std::int64_t) { return to_float(P(p / s, p % s)); });
  const CellGrid ga1 = aggregate(pos_ax, h_ax, a1);
  const CellGrid ga3 = aggregate(t_ax, h_ax, [&](std::int64_t r, std::int64_t c) { return a1(sel[r], c); });
  const detail::HeadGrids g = detail::head_grids(
      nh, t_ax, hd_ax, e_ax, [&](std::int64_t n, std::int64_t r, std::int64_t c) { return a1(sel[r], n * hd + c); },
      [&](std::int64_t n, std::int64_t r, std::int64_t c) { return to_float(W1(n * hd + r, c)); },
      [&](std::int64_t n, std::int64_t r, std::int64_t c) { return to_float(o3(r, n, c)); });

  // A1's scale covers all of A1 (selected or not), so a row looks the same in A1 and in A3.
  const double global = std::max({ga1.max_abs, g.top_max, g.front_max});
  const ColourScale sa(opt.global_scale ? global : ga1.max_abs), sw(opt.global_scale ? global : g.top_max),
      so(opt.global_scale ? global : g.front_max), sp(gp.max_abs);
  const double px = std::min(detail::cell_px_for(opt, std::max(pos_ax.cells, h_ax.cells)),
                             detail::cell_px_for(head_opt, std::max({t_ax.cells, hd_ax.cells, e_ax.cells})));

  std::vector<bool> selected_position(static_cast<std::size_t>(b * s), false);
  for (std::int64_t p : sel) selected_position[static_cast<std::size_t>(p)] = true;
  // A cell row is shown as selected when any of its positions is.
  std::vector<bool> faded(static_cast<std::size_t>(pos_ax.cells), true);
  for (std::int64_t p : sel) faded[static_cast<std::size_t>(p / pos_ax.block)] = false;

  auto pos_text = [s](std::int64_t p) { return std::to_string(p / s) + ", " + std::to_string(p % s); };
  auto a1_names = [&](std::string name) {
    detail::FaceNames f;
    f.name = std::move(name);
    f.element = [pos_text](std::int64_t p, std::int64_t c) {
      return "A1[" + pos_text(p) + ", " + std::to_string(c) + "]";
    };
    return f;
  };

  detail::SvgDocument doc;
  const double top_y = 40;
  const bool row_labels = !pos_ax.aggregated() && px >= 12;
  // P as a column, with the positions' (i, j) on its left when there is room.
  {
    detail::FaceNames names;
    names.name = "P as [b·s, 1]";
    names.element = [pos_text](std::int64_t q, std::int64_t) { return "P[" + pos_text(q) + "]"; };
    detail::PanelSpec p = detail::panel_of(gp, {0, top_y}, sp, names, "P", "P", px);
    p.caption = "P [" + std::to_string(b) + ", " + std::to_string(s) + "]";
    detail::draw_panel(doc, p, opt);
    for (std::int64_t r = 0; r < pos_ax.cells; ++r) {
      if (faded[static_cast<std::size_t>(r)]) continue;
      doc.begin("rect")
          .attr("class", "mark")
          .attr("x", -1.0)
          .attr("y", top_y + pos_ax.position(r) * px - 1)
          .attr("width", px + 2)
          .attr("height", pos_ax.length(r) * px + 2)
          .end();
    }
    if (row_labels)
      for (std::int64_t q = 0; q < b * s; ++q)
        doc.label(detail::Point{-6, top_y + (static_cast<double>(q) + 0.5) * px + 4}, "(" + pos_text(q) + ")", 10.5,
                  detail::Anchor::end, "note");
  }
  // A1 with the rows not selected faded.
  const double a1_x = px + 54;
  {
    detail::PanelSpec p = detail::panel_of(ga1, {a1_x, top_y}, sa, a1_names("A1 as [b·s, h]"), "A1", "A1", px);
    p.face.row_faded = faded;
    p.caption = "A1 [" + std::to_string(b) + ", " + std::to_string(s) + ", " + std::to_string(h) +
                "] as [b·s, h]: rows not selected are faded";
    p.cols_label = "h = " + std::to_string(h) + " (" + std::to_string(nh) + " heads of " + std::to_string(hd) + ")";
    detail::draw_panel(doc, p, opt);
    detail::draw_head_separators(doc, p.face.frame.origin, ga1, nh, hd, px);
  }
  // A3: the selected rows in selection order, linked to where they came from.
  const double a1_right = a1_x + h_ax.extent() * px;
  const double a3_x = a1_right + 110;
  {
    detail::FaceNames names;
    names.name = "A3 = A1[selected]";
    names.element = [&sel, pos_text](std::int64_t r, std::int64_t c) {
      return "A3[" + std::to_string(r) + ", " + std::to_string(c) + "] = A1[" + pos_text(sel[r]) + ", " +
             std::to_string(c) + "]";
    };
    detail::PanelSpec p = detail::panel_of(ga3, {a3_x, top_y}, sa, names, "A3", "A3", px);
    p.caption = "A3 = A1[selected]  [t, h] = [" + std::to_string(t) + ", " + std::to_string(h) + "]";
    p.cols_label = "rows in selection order (flat position i·s + j ascending)";
    detail::draw_panel(doc, p, opt);
    detail::draw_head_separators(doc, p.face.frame.origin, ga3, nh, hd, px);
    if (!pos_ax.aggregated() && !t_ax.aggregated()) {
      for (std::int64_t r = 0; r < t; ++r) {
        const double ya = top_y + (static_cast<double>(sel[r]) + 0.5) * px;
        const double yb = top_y + (static_cast<double>(r) + 0.5) * px;
        doc.line(detail::Point{a1_right + 4, ya}, detail::Point{a3_x - 4, yb}, "link");
        if (px >= 12)
          doc.label(detail::Point{a3_x + h_ax.extent() * px + 6, yb + 4},
                    "r = " + std::to_string(r) + " ← (" + pos_text(sel[r]) + ")", 10.5, detail::Anchor::start, "note");
      }
    }
    if (t == 0)
      doc.label(detail::Point{a3_x, top_y + 14}, "no position passed: t = 0", 12.5, detail::Anchor::start, "note");
  }

  auto text_of = [&](std::int64_t n) {
    detail::HeadBoxText tx;
    tx.left.name = "A3 head " + std::to_string(n);
    tx.left.element = [&sel, pos_text, n, hd](std::int64_t r, std::int64_t c) {
      return "A3[" + std::to_string(r) + ", " + std::to_string(n * hd + c) + "] = A1[" + pos_text(sel[r]) + ", " +
             std::to_string(n * hd + c) + "]";
    };
    tx.top.name = "W1 head " + std::to_string(n);
    tx.top.element = [n, hd](std::int64_t r, std::int64_t c) {
      return "W1[" + std::to_string(n * hd + r) + ", " + std::to_string(c) + "]";
    };
    tx.front.name = "O3[:, " + std::to_string(n) + ", :]";
    tx.front.element = [n](std::int64_t r, std::int64_t c) {
      return "O3[" + std::to_string(r) + ", " + std::to_string(n) + ", " + std::to_string(c) + "]";
    };
    tx.left_label = "A3[:, " + detail::range_of_head(n, hd) + "]";
    tx.top_label = "W1[" + detail::range_of_head(n, hd) + ", :]";
    tx.front_label = "O3[:, " + std::to_string(n) + ", :]";
    tx.i_label = "t = " + std::to_string(t);
    tx.k_label = "hd = " + std::to_string(hd);
    tx.j_label = "e = " + std::to_string(e);
    return tx;
  };
  detail::draw_head_boxes(doc, detail::Point{doc.bounds().min_x, doc.bounds().max_y + 36}, g, sa, sw, so, px, {},
                          text_of, opt);

  detail::LegendSpec legend;
  legend.global = opt.global_scale;
  legend.scales = {{"A1 (and A3)", ga1.max_abs}, {"W1", g.top_max}, {"O3", g.front_max}};
  detail::count_specials(legend, {&gp, &ga1});
  for (std::size_t n = 0; n < g.top.size(); ++n) detail::count_specials(legend, {&g.top[n], &g.front[n]});
  legend.notes.push_back("P has a scale of its own: max|P| = " + detail::value_text(gp.max_abs) +
                         ". Outlined: the positions that passed both tests.");
  for (auto& line : detail::block_note({{"b·s", pos_ax}, {"t", t_ax}, {"h", h_ax}, {"hd", hd_ax}, {"e", e_ax}}))
    legend.notes.push_back(line);
  if (t == 0)
    legend.notes.push_back("No position passed (t = 0): O3 is [0, " + std::to_string(nh) + ", " + std::to_string(e) +
                           "], so its faces are empty.");

  const std::string heading =
      opt.title.empty() ? "matmul_with_importance: O3[r, n, :] = A3[r, n·hd:(n+1)·hd] @ W1[n·hd:(n+1)·hd, :]" : opt.title;
  std::string sub = "position (i, j) is selected when P[i, j] >= top_p = " + detail::value_text(options.top_p);
  sub += options.top_k ? " and j is among the top_k = " + std::to_string(*options.top_k) + " largest of row P[i, :]"
                       : std::string(" (top_k: none)");
  sub += " · t = " + std::to_string(t) + " of " + std::to_string(b * s) + " positions · " + dtype_name<T>();
  return detail::finish_picture(doc, heading, sub, legend, heading);
}

template <TensorLike X, TensorLike W, TensorLike Q>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && rank_of_v<Q> == 2 &&
           std::is_same_v<element_of_t<X>, element_of_t<W>> && std::is_same_v<element_of_t<X>, element_of_t<Q>>)
std::string importance_svg(const X& A1, const W& W1, const Q& P, std::int64_t num_heads, ImportanceOptions options = {},
                           const Options& opt = {}) {
  return importance_svg<element_of_t<X>>(as_const_view(A1), as_const_view(W1), as_const_view(P), num_heads, options,
                                         opt);
}

}  // namespace viz
TESSEL_NAMESPACE_END
