// tessel/viz/chain_svg.hpp — (A @ B) @ C as two boxes sharing a face, as bhosmer/mm draws a
// sub-expression.
//
// mm's rule for compound expressions: the child matmul is another box under the same layout
// rules, and its result face *is* the parent's argument face. Here the child A @ B feeds the
// parent's left face. The parent is drawn as in matmul_svg (A @ B on the left face, C on top,
// (A @ B) @ C in front). The child extends to the left of it as a concave box, the inside
// of a room seen from the front: A stands on its back wall (rows along i, its columns k₁
// running towards the shared face), B lies on its floor (rows k₁ towards the shared face,
// columns along the parent's k), and its right wall is the shared face A @ B. Seen from the
// front-left-top, those inner faces are exactly the ones in view, and none of the five
// matrices hides another — mm's "alternating convex and concave cubes". Both products come
// from tessel::matmul (the intermediate rounded to T, as a caller's two calls would give).
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

#include "../tessel.hpp"
#include "blocks.hpp"
#include "box.hpp"
#include "matmul_svg.hpp"
#include "picture.hpp"

TESSEL_NAMESPACE_BEGIN
namespace viz {

template <ElementType T>
std::string chain_svg(TensorView<const T, 2> A, TensorView<const T, 2> B, TensorView<const T, 2> C,
                      const Options& opt = {}) {
  constexpr std::string_view fn = "tessel::viz::chain_svg";
  tessel::detail::check(A.size(1) == B.size(0), fn, "A has shape ", A.shape(), " and B has shape ", B.shape(),
                        ": A.size(1) must equal B.size(0)");
  tessel::detail::check(B.size(1) == C.size(0), fn, "B has shape ", B.shape(), " and C has shape ", C.shape(),
                        ": (A @ B).size(1) = B.size(1) must equal C.size(0)");
  detail::check_options(fn, opt);
  const Tensor<T, 2> AB = tessel::matmul(A, B);
  const Tensor<T, 2> ABC = tessel::matmul(AB.view(), C);

  const auto [i, k1, k, j] = detail::plan_axes<4>(opt, {A.size(0), A.size(1), B.size(1), C.size(1)});
  const CellGrid ga = aggregate(i, k1, detail::element_reader<T>(A));
  const CellGrid gb = aggregate(k1, k, detail::element_reader<T>(B));
  const CellGrid gab = aggregate(i, k, detail::element_reader<T>(AB.view()));
  const CellGrid gc = aggregate(k, j, detail::element_reader<T>(C));
  const CellGrid gabc = aggregate(i, j, detail::element_reader<T>(ABC.view()));
  const double global = std::max({ga.max_abs, gb.max_abs, gab.max_abs, gc.max_abs, gabc.max_abs});
  auto scale_of = [&](const CellGrid& g) { return ColourScale(opt.global_scale ? global : g.max_abs); };

  const double px = detail::cell_px_for(opt, std::max({i.cells, k1.cells, k.cells, j.cells}));
  const detail::Isometric iso(px);
  const double I = i.extent(), K1 = k1.extent(), K = k.extent(), J = j.extent();
  const double font = detail::font_for(px), c30 = std::sqrt(3.0) / 2;
  const detail::Point O{0, 0};
  const detail::Point back = O + K * iso.z;  // parent: the top of the left face's back edge
  const detail::Point wall = back - K1 * iso.x;  // child: the top-left corner of its back wall

  auto face = [&](const CellGrid& g, detail::Frame frame, const char* which, const std::string& name) {
    detail::FaceSpec s;
    s.grid = &g;
    s.frame = frame;
    s.scale = scale_of(g);
    s.names = detail::matrix_names(detail::indexable(name));
    s.names.name = name;
    s.face = which;
    s.matrix = name;
    s.cell_px = px;
    return s;
  };

  detail::SvgDocument doc;
  // The parent's hidden edges, and the child's open front edges (the room has no ceiling and
  // no front wall).
  const detail::Point far = O + J * iso.x + I * iso.y + K * iso.z;
  doc.line(far, O + I * iso.y + K * iso.z, "hidden-edge");
  doc.line(far, O + J * iso.x + K * iso.z, "hidden-edge");
  doc.line(far, O + J * iso.x + I * iso.y, "hidden-edge");
  const detail::Point front_left = O - K1 * iso.x;
  doc.line(wall, front_left, "hidden-edge");
  doc.line(front_left, O, "hidden-edge");
  doc.line(front_left, front_left + I * iso.y, "hidden-edge");

  detail::draw_face(doc, face(gabc, detail::Frame{O, iso.x, iso.y}, "front", "(A @ B) @ C"), opt);
  detail::draw_face(doc, face(gab, detail::Frame{back, -1.0 * iso.z, iso.y}, "left", "A @ B"), opt);
  detail::draw_face(doc, face(gc, detail::Frame{back, iso.x, -1.0 * iso.z}, "top", "C"), opt);
  // The child's back wall (A) and floor (B).
  detail::draw_face(doc, face(ga, detail::Frame{wall, iso.x, iso.y}, "back", "A"), opt);
  detail::draw_face(doc, face(gb, detail::Frame{wall + I * iso.y, -1.0 * iso.z, iso.x}, "floor", "B"), opt);

  // Dimensions: i down the back wall's outer edge, k₁ along the floor's front edge, k along
  // the floor's outer edge (towards the front), j along the front face's bottom edge.
  detail::draw_dimension(doc, wall, wall + I * iso.y, detail::Point{-1, 0}, "i = " + std::to_string(i.size), font,
                         false);
  detail::draw_dimension(doc, front_left + I * iso.y, O + I * iso.y, detail::Point{0.5, c30},
                         "k₁ = " + std::to_string(k1.size), font, true);
  detail::draw_dimension(doc, wall + I * iso.y, front_left + I * iso.y, detail::Point{-0.5, c30},
                         "k = " + std::to_string(k.size), font, true);
  detail::draw_dimension(doc, O + I * iso.y, O + I * iso.y + J * iso.x, detail::Point{0.5, c30},
                         "j = " + std::to_string(j.size), font, true);
  // Names on the faces themselves: with five matrices around two boxes, a name at each face's
  // centre reads better than captions competing for the corners.
  auto badge = [&](detail::Point at, const std::string& text) {
    const double w = detail::SvgDocument::text_width(text, font) + 10, h = font + 6;
    doc.begin("rect")
        .attr("class", "badge")
        .attr("x", at.x - w / 2)
        .attr("y", at.y - h / 2)
        .attr("width", w)
        .attr("height", h)
        .attr("rx", 3)
        .end();
    doc.label(at + detail::Point{0, 0.35 * font}, text, font, detail::Anchor::middle, "name");
  };
  badge(O + 0.5 * J * iso.x + 0.5 * I * iso.y, "(A @ B) @ C " + detail::shape_text(i.size, j.size));
  badge(back + 0.5 * J * iso.x - 0.5 * K * iso.z, "C " + detail::shape_text(k.size, j.size));
  badge(back - 0.5 * K * iso.z + 0.5 * I * iso.y, "A @ B " + detail::shape_text(i.size, k.size));
  badge(wall + 0.5 * K1 * iso.x + 0.5 * I * iso.y, "A " + detail::shape_text(i.size, k1.size));
  badge(wall + I * iso.y + 0.5 * K1 * iso.x - 0.5 * K * iso.z, "B " + detail::shape_text(k1.size, k.size));

  detail::LegendSpec legend;
  legend.global = opt.global_scale;
  legend.scales = {{"A", ga.max_abs}, {"B", gb.max_abs}, {"A @ B", gab.max_abs}, {"C", gc.max_abs},
                   {"(A @ B) @ C", gabc.max_abs}};
  detail::count_specials(legend, {&ga, &gb, &gab, &gc, &gabc});
  legend.notes.push_back("A @ B is the result face of the left box and the left face of the right one, as mm draws a "
                         "sub-expression: the left box is seen from inside (A on its back wall, B on its floor).");
  for (auto& line : detail::block_note({{"i", i}, {"k₁", k1}, {"k", k}, {"j", j}})) legend.notes.push_back(line);
  if (i.size == 0 || j.size == 0)
    legend.notes.push_back("An axis is empty: (A @ B) @ C " + detail::shape_text(i.size, j.size) + " has no elements.");

  const std::string heading = opt.title.empty() ? "(A @ B) @ C = (A " + detail::shape_text(i.size, k1.size) + " @ B " +
                                                      detail::shape_text(k1.size, k.size) + ") @ C " +
                                                      detail::shape_text(k.size, j.size)
                                                : opt.title;
  const std::string sub = std::string(dtype_name<T>()) + " elements · two calls of tessel::matmul, each summing in fp32 "
                          "and rounding to " + dtype_name<T>() + " once";
  return detail::finish_picture(doc, heading, sub, legend, heading);
}

template <TensorLike X, TensorLike Y, TensorLike Z>
  requires(rank_of_v<X> == 2 && rank_of_v<Y> == 2 && rank_of_v<Z> == 2 &&
           std::is_same_v<element_of_t<X>, element_of_t<Y>> && std::is_same_v<element_of_t<X>, element_of_t<Z>>)
std::string chain_svg(const X& A, const Y& B, const Z& C, const Options& opt = {}) {
  return chain_svg<element_of_t<X>>(as_const_view(A), as_const_view(B), as_const_view(C), opt);
}

}  // namespace viz
TESSEL_NAMESPACE_END
