// tessel/viz/multi_head_svg.hpp — the multi-head matmul (SPEC §1) as nh matmul boxes.
//
//   O2[i, j, n, :] = A1[i, j, n·hd:(n+1)·hd] @ W1[n·hd:(n+1)·hd, :]
//
// The top row shows the split itself: A1 (its b and s axes flattened into b·s rows) cut into
// nh column blocks, W1 cut into nh row blocks. Under it, head n's product is one box: its
// left face is A1's column block n, its top face W1's row block n, its front face O2[:, :, n, :]
// ([b·s, e]), computed by tessel::matmul_with_multi_head. A1's blocks share one colour
// scale, W1's one, O2's one (Options::global_scale: one for all), so heads compare directly.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../tessel.hpp"
#include "blocks.hpp"
#include "box.hpp"
#include "panel.hpp"
#include "picture.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz {

namespace detail {

// The grids of every head of a multi-head product and their captions, shared by the
// multi-head and importance pictures. rows(r) maps a row of the left operand to the user's
// index text ("1, 3" for A1[1, 3, ...]); the left operand is any callable (row, col) -> float.
struct HeadGrids {
  std::vector<CellGrid> left, top, front;
  double left_max = 0, top_max = 0, front_max = 0;
};

template <class LeftElement, class TopElement, class FrontElement>
HeadGrids head_grids(std::int64_t nh, const AxisCells& rows, const AxisCells& hd, const AxisCells& e,
                     LeftElement&& left, TopElement&& top, FrontElement&& front) {
  HeadGrids g;
  for (std::int64_t n = 0; n < nh; ++n) {
    g.left.push_back(aggregate(rows, hd, [&](std::int64_t r, std::int64_t c) { return left(n, r, c); }));
    g.top.push_back(aggregate(hd, e, [&](std::int64_t r, std::int64_t c) { return top(n, r, c); }));
    g.front.push_back(aggregate(rows, e, [&](std::int64_t r, std::int64_t c) { return front(n, r, c); }));
    g.left_max = std::max(g.left_max, g.left.back().max_abs);
    g.top_max = std::max(g.top_max, g.top.back().max_abs);
    g.front_max = std::max(g.front_max, g.front.back().max_abs);
  }
  return g;
}

// Names and captions of head n's box.
struct HeadBoxText {
  FaceNames left, top, front;
  std::string left_label, top_label, front_label, i_label, k_label, j_label;
};

// How many head boxes share a row: all of them up to 4, then about √nh, so many heads make a
// block of rows rather than one very wide strip.
inline std::int64_t boxes_per_row(std::int64_t nh) {
  if (nh <= 4) return std::max<std::int64_t>(nh, 1);
  const auto root = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(nh))));
  return std::max<std::int64_t>(4, root);
}

// Draws the nh boxes in rows, the first one's bounds starting at `top_left`; returns the
// bounds of them all.
template <class TextOf>
Bounds draw_head_boxes(SvgDocument& doc, Point top_left, const HeadGrids& g, const ColourScale& left_scale,
                       const ColourScale& top_scale, const ColourScale& front_scale, double cell_px,
                       const std::vector<std::vector<bool>>& faded_rows, TextOf&& text_of, const Options& opt) {
  Bounds all;
  Options quick = opt;
  quick.tooltips = false;
  const auto nh = static_cast<std::int64_t>(g.left.size());
  const std::int64_t per_row = boxes_per_row(nh);
  double x = top_left.x, y = top_left.y, row_height = 0;
  for (std::int64_t n = 0; n < nh; ++n) {
    if (n > 0 && n % per_row == 0) {
      x = top_left.x;
      y += row_height + 30;
      row_height = 0;
    }
    const auto k = static_cast<std::size_t>(n);
    const HeadBoxText t = text_of(n);
    BoxSpec box;
    box.cell_px = cell_px;
    box.left = {&g.left[k], left_scale, t.left, t.left_label, k < faded_rows.size() ? faded_rows[k] : std::vector<bool>{}};
    box.top = {&g.top[k], top_scale, t.top, t.top_label, {}};
    box.front = {&g.front[k], front_scale, t.front, t.front_label, box.left.row_faded};
    box.i_label = t.i_label;
    box.k_label = t.k_label;
    box.j_label = t.j_label;
    box.id = "head " + std::to_string(n);
    const Bounds b = measure([&](SvgDocument& d) { draw_box(d, box, quick); });
    box.origin = Point{x - b.min_x, y + 22 - b.min_y};
    doc.label(Point{x, y + 12}, "head " + std::to_string(n), 14, Anchor::start, "title");
    draw_box(doc, box, opt);
    all.add(Point{x, y});
    all.add(Point{x + (b.max_x - b.min_x), y + 22 + (b.max_y - b.min_y)});
    row_height = std::max(row_height, 22 + (b.max_y - b.min_y));
    x += (b.max_x - b.min_x) + 28;
  }
  return all;
}

// The head split's preconditions, shared by the multi-head and importance pictures.
template <class T>
void check_head_split(std::string_view fn, const TensorView<const T, 3>& A1, const TensorView<const T, 2>& W1,
                      std::int64_t nh) {
  using tessel::detail::check;
  check(nh >= 1, fn, "num_heads must be at least 1, got ", nh);
  check(A1.size(2) % nh == 0, fn, "A1 has shape ", A1.shape(), " whose hidden size ", A1.size(2),
        " is not divisible by num_heads = ", nh);
  check(W1.size(0) == A1.size(2), fn, "W1 has shape ", W1.shape(), " but A1 ", A1.shape(), " needs W1.size(0) == ",
        A1.size(2));
}

inline std::string range_of_head(std::int64_t n, std::int64_t hd) {
  return std::to_string(n * hd) + ":" + std::to_string((n + 1) * hd);
}

}  // namespace detail

template <ElementType T>
std::string multi_head_svg(TensorView<const T, 3> A1, TensorView<const T, 2> W1, std::int64_t num_heads,
                           const Options& opt = {}) {
  constexpr std::string_view fn = "tessel::viz::multi_head_svg";
  detail::check_head_split<T>(fn, A1, W1, num_heads);
  detail::check_options(fn, opt);
  const Tensor<T, 4> O2 = tessel::matmul_with_multi_head(A1, W1, num_heads);
  const Options head_opt = detail::per_head_options(opt, num_heads);
  const auto o2 = O2.view();

  const std::int64_t b = A1.size(0), s = A1.size(1), h = A1.size(2), e = W1.size(1), nh = num_heads, hd = h / nh;
  const auto [rows, hd_ax, e_ax] = detail::plan_axes<3>(head_opt, {b * s, hd, e});
  // Row r of the flattened [b·s, ...] operands is position (r / s, r % s).
  auto pos = [s](std::int64_t r) { return std::to_string(r / s) + ", " + std::to_string(r % s); };
  const detail::HeadGrids g = detail::head_grids(
      nh, rows, hd_ax, e_ax,
      [&](std::int64_t n, std::int64_t r, std::int64_t c) { return to_float(A1(r / s, r % s, n * hd + c)); },
      [&](std::int64_t n, std::int64_t r, std::int64_t c) { return to_float(W1(n * hd + r, c)); },
      [&](std::int64_t n, std::int64_t r, std::int64_t c) { return to_float(o2(r / s, r % s, n, c)); });
  const double global = std::max({g.left_max, g.top_max, g.front_max});
  const ColourScale sa(opt.global_scale ? global : g.left_max), sw(opt.global_scale ? global : g.top_max),
      so(opt.global_scale ? global : g.front_max);
  const double px = detail::cell_px_for(head_opt, std::max({rows.cells, hd_ax.cells, e_ax.cells}));

  auto a1_names = [&](std::int64_t n) {
    detail::FaceNames f;
    f.name = "A1 head " + std::to_string(n) + " as [b·s, hd]";
    f.element = [pos, n, hd](std::int64_t r, std::int64_t c) {
      return "A1[" + pos(r) + ", " + std::to_string(n * hd + c) + "]";
    };
    return f;
  };
  auto w1_names = [&](std::int64_t n) {
    detail::FaceNames f;
    f.name = "W1 head " + std::to_string(n);
    f.element = [n, hd](std::int64_t r, std::int64_t c) {
      return "W1[" + std::to_string(n * hd + r) + ", " + std::to_string(c) + "]";
    };
    return f;
  };
  auto o2_names = [&](std::int64_t n) {
    detail::FaceNames f;
    f.name = "O2 head " + std::to_string(n) + " as [b·s, e]";
    f.element = [pos, n](std::int64_t r, std::int64_t c) {
      return "O2[" + pos(r) + ", " + std::to_string(n) + ", " + std::to_string(c) + "]";
    };
    return f;
  };

  detail::SvgDocument doc;
  // Top row: A1 as [b·s, h] in its nh column blocks, then W1 in its nh row blocks.
  const double block_gap = 6;
  const double a1_width = static_cast<double>(nh) * hd_ax.extent() * px + static_cast<double>(nh - 1) * block_gap;
  const double top_y = 40;
  for (std::int64_t n = 0; n < nh; ++n) {
    const auto k = static_cast<std::size_t>(n);
    const std::string head = "head " + std::to_string(n);
    detail::PanelSpec a = detail::panel_of(g.left[k], {static_cast<double>(n) * (hd_ax.extent() * px + block_gap), top_y},
                                           sa, a1_names(n), "A1 " + head, "A1", px);
    a.cols_label = head;
    detail::PanelSpec w = detail::panel_of(
        g.top[k], {a1_width + 70, top_y + static_cast<double>(n) * (hd_ax.extent() * px + block_gap)}, sw, w1_names(n),
        "W1 " + head, "W1", px);
    w.rows_label = head;
    if (n == 0) {
      a.caption = "A1 [" + std::to_string(b) + ", " + std::to_string(s) + ", " + std::to_string(h) +
                  "] as [b·s, h]: h = nh · hd = " + std::to_string(nh) + " · " + std::to_string(hd);
      a.rows_label = "b·s = " + std::to_string(b * s);
      w.caption = "W1 [" + std::to_string(h) + ", " + std::to_string(e) + "]: nh row blocks of hd";
      w.cols_label = "e = " + std::to_string(e);
    }
    detail::draw_panel(doc, a, opt);
    detail::draw_panel(doc, w, opt);
  }

  // Second row: one box per head.
  auto text_of = [&](std::int64_t n) {
    detail::HeadBoxText t;
    t.left = a1_names(n);
    t.top = w1_names(n);
    t.front = o2_names(n);
    t.left_label = "A1[:, :, " + detail::range_of_head(n, hd) + "]";
    t.top_label = "W1[" + detail::range_of_head(n, hd) + ", :]";
    t.front_label = "O2[:, :, " + std::to_string(n) + ", :]";
    t.i_label = "b·s = " + std::to_string(b * s);
    t.k_label = "hd = " + std::to_string(hd);
    t.j_label = "e = " + std::to_string(e);
    return t;
  };
  detail::draw_head_boxes(doc, detail::Point{doc.bounds().min_x, doc.bounds().max_y + 36}, g, sa, sw, so, px, {}, text_of,
                          opt);

  detail::LegendSpec legend;
  legend.global = opt.global_scale;
  legend.scales = {{"A1", g.left_max}, {"W1", g.top_max}, {"O2", g.front_max}};
  for (std::size_t n = 0; n < g.left.size(); ++n) detail::count_specials(legend, {&g.left[n], &g.top[n], &g.front[n]});
  for (auto& line : detail::block_note({{"b·s", rows}, {"hd", hd_ax}, {"e", e_ax}})) legend.notes.push_back(line);
  if (b * s == 0 || e == 0) legend.notes.push_back("b·s or e is 0: O2 has no elements.");
  else if (hd == 0) legend.notes.push_back("hd = 0: every element of O2 is an empty sum, so it is all zeros.");

  const std::string heading =
      opt.title.empty() ? "matmul_with_multi_head: O2[i, j, n, :] = A1[i, j, n·hd:(n+1)·hd] @ W1[n·hd:(n+1)·hd, :]"
                        : opt.title;
  const std::string sub = "O2 [" + std::to_string(b) + ", " + std::to_string(s) + ", " + std::to_string(nh) + ", " +
                          std::to_string(e) + "] · " + dtype_name<T>() +
                          " · one batched GEMM with the heads as its batch (fp32 accumulation)";
  return detail::finish_picture(doc, heading, sub, legend, heading);
}

template <TensorLike X, TensorLike W>
  requires(rank_of_v<X> == 3 && rank_of_v<W> == 2 && std::is_same_v<element_of_t<X>, element_of_t<W>>)
std::string multi_head_svg(const X& A1, const W& W1, std::int64_t num_heads, const Options& opt = {}) {
  return multi_head_svg<element_of_t<X>>(as_const_view(A1), as_const_view(W1), num_heads, opt);
}

}  // namespace viz
TESSEL_NAMESPACE_END
