// tessel/viz/matmul_svg.hpp — SPEC §11: matmul_svg(L, R), the picture of L @ R.
//
// The product is computed by tessel's own matmul (the engine: fp32 accumulation, one rounding
// to T), so the front face shows exactly what tessel::matmul returns.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "../tessel.hpp"
#include "blocks.hpp"
#include "box.hpp"
#include "picture.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz {

namespace detail {

// Reads a 2-D view's element as float (float16 and bfloat16 widen exactly).
template <class T>
auto element_reader(const TensorView<const T, 2>& m) {
  return [m](std::int64_t r, std::int64_t c) { return tessel::to_float(m(r, c)); };
}

inline std::string shape_text(std::int64_t rows, std::int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// "(L @ R)" when a name has spaces, so "(L @ R)[3, 2]" reads as one thing.
inline std::string indexable(const std::string& name) {
  return name.find(' ') == std::string::npos ? name : "(" + name + ")";
}

// Notes for operands with an empty axis: the picture still draws, flat along that axis.
inline void empty_axis_notes(LegendSpec& legend, std::int64_t i, std::int64_t k, std::int64_t j,
                             const std::string& result) {
  if (i == 0 || j == 0)
    legend.notes.push_back("An axis is empty (i = " + std::to_string(i) + ", j = " + std::to_string(j) + "): " + result +
                           " " + shape_text(i, j) + " has no elements.");
  else if (k == 0)
    legend.notes.push_back("k = 0: every element of " + result + " is an empty sum, so it is all zeros.");
}

}  // namespace detail

template <ElementType T>
std::string matmul_svg(TensorView<const T, 2> L, TensorView<const T, 2> R, const Options& opt = {}) {
  constexpr std::string_view fn = "tessel::viz::matmul_svg";
  tessel::detail::check(L.size(1) == R.size(0), fn, "L has shape ", L.shape(), " and R has shape ", R.shape(),
                        ": L.size(1) must equal R.size(0)");
  detail::check_options(fn, opt);
  if (opt.highlight) {
    const auto [hi, hj] = *opt.highlight;
    tessel::detail::check(hi >= 0 && hi < L.size(0) && hj >= 0 && hj < R.size(1), fn, "Options::highlight (", hi, ", ",
                          hj, ") is outside L @ R of shape [", L.size(0), ", ", R.size(1), "]");
  }
  const Tensor<T, 2> C = tessel::matmul(L, R);

  const std::string ln = opt.left_name, rn = opt.right_name;
  const std::string cn = opt.result_name.empty() ? detail::indexable(ln) + " @ " + detail::indexable(rn) : opt.result_name;
  const auto [i, k, j] = detail::plan_axes<3>(opt, {L.size(0), L.size(1), R.size(1)});
  const CellGrid gl = aggregate(i, k, detail::element_reader<T>(L));
  const CellGrid gr = aggregate(k, j, detail::element_reader<T>(R));
  const CellGrid gc = aggregate(i, j, detail::element_reader<T>(C.view()));

  const double global = std::max({gl.max_abs, gr.max_abs, gc.max_abs});
  auto scale_of = [&](const CellGrid& g) { return ColourScale(opt.global_scale ? global : g.max_abs); };

  detail::BoxSpec box;
  box.cell_px = detail::cell_px_for(opt, std::max({i.cells, k.cells, j.cells}));
  box.left = {&gl, scale_of(gl), detail::matrix_names(ln), ln + " " + detail::shape_text(i.size, k.size), {}};
  box.top = {&gr, scale_of(gr), detail::matrix_names(rn), rn + " " + detail::shape_text(k.size, j.size), {}};
  box.front = {&gc, scale_of(gc), detail::matrix_names(detail::indexable(cn)),
               cn + " " + detail::shape_text(i.size, j.size), {}};
  box.front.names.name = cn;
  box.i_label = "i = " + std::to_string(i.size);
  box.k_label = "k = " + std::to_string(k.size);
  box.j_label = "j = " + std::to_string(j.size);

  if (opt.highlight) {
    const auto [hi, hj] = *opt.highlight;
    box.highlight = std::pair<std::int64_t, std::int64_t>{hi / i.block, hj / j.block};
  }

  detail::SvgDocument doc;
  detail::draw_box(doc, box, opt);

  detail::LegendSpec legend;
  legend.global = opt.global_scale;
  legend.scales = {{ln, gl.max_abs}, {rn, gr.max_abs}, {cn, gc.max_abs}};
  detail::count_specials(legend, {&gl, &gr, &gc});
  for (auto& line : detail::block_note({{"i", i}, {"k", k}, {"j", j}})) legend.notes.push_back(line);
  detail::empty_axis_notes(legend, i.size, k.size, j.size, cn);
  if (opt.highlight) {
    const auto [hi, hj] = *opt.highlight;
    const std::string ij = std::to_string(hi) + ", " + std::to_string(hj);
    legend.notes.push_back("Outlined: row " + std::to_string(hi) + " of " + ln + " and column " + std::to_string(hj) +
                           " of " + rn + " meet in " + detail::indexable(cn) + "[" + ij + "] = Σ_k " + ln + "[" +
                           std::to_string(hi) + ", k] · " + rn + "[k, " + std::to_string(hj) +
                           "] = " + detail::value_text(to_float(C(hi, hj))));
  }

  const std::string heading = opt.title.empty() ? cn + " = " + ln + " " + detail::shape_text(i.size, k.size) + " @ " +
                                                      rn + " " + detail::shape_text(k.size, j.size)
                                                : opt.title;
  const std::string sub = std::string(dtype_name<T>()) +
                          " elements · each product summed along k in fp32 by tessel::matmul, rounded to " +
                          dtype_name<T>() + " once";
  return detail::finish_picture(doc, heading, sub, legend, heading);
}

// Tensors, non-const views and reshape()/contiguous() results deduce T, as everywhere in tessel.
template <TensorLike X, TensorLike Y>
  requires(rank_of_v<X> == 2 && rank_of_v<Y> == 2 && std::is_same_v<element_of_t<X>, element_of_t<Y>>)
std::string matmul_svg(const X& L, const Y& R, const Options& opt = {}) {
  return matmul_svg<element_of_t<X>>(as_const_view(L), as_const_view(R), opt);
}

}  // namespace viz
TESSEL_NAMESPACE_END
