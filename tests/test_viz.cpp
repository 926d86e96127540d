// tessel/viz.hpp: the SVG pictures of matmuls. Every picture is parsed by a strict XML
// checker (tests/support/xml_check.hpp) and read back: one cell per element, colours by
// mm's rule (checked against an HSL conversion written here, not the library's), tooltip
// values against the fp64 references of tests/support/reference.hpp, the aggregation rule on
// matrices whose block maxima are known, labels, and every kind of bad input.
#include <catch2/catch.hpp>

#include <tessel/tessel.hpp>
#include <tessel/viz.hpp>

#include "support/checks.hpp"
#include "support/reference.hpp"
#include "support/xml_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace tessel_test;
using tessel::Tensor;
using tessel::TensorView;
namespace viz = tessel::viz;
using Element = tessel_test::xml::Element;

namespace {

std::unique_ptr<Element> parse_svg(const std::string& svg) {
  try {
    auto root = xml::parse(svg);
    REQUIRE(root->name == "svg");
    REQUIRE(root->attr_or("xmlns") == "http://www.w3.org/2000/svg");
    return root;
  } catch (const xml::ParseError& e) {
    FAIL(e.what());
  }
  return nullptr;
}

// The <g class="cells"> groups of a picture whose data-matrix is `matrix`.
std::vector<const Element*> cell_groups(const Element& root, const std::string& matrix) {
  std::vector<const Element*> groups;
  for (const Element* g : root.find_all("g"))
    if (g->attr_or("class") == "cells" && g->attr_or("data-matrix") == matrix) groups.push_back(g);
  return groups;
}

// The cells (rects) of the one face showing `matrix`, in document order (row-major).
std::vector<const Element*> cells_of(const Element& root, const std::string& matrix) {
  const auto groups = cell_groups(root, matrix);
  REQUIRE(groups.size() == 1);
  return groups[0]->find_all("rect");
}

std::vector<const Element*> outlines(const Element& root, const std::string& css_class) {
  std::vector<const Element*> found;
  for (const Element* p : root.find_all("polygon"))
    if (p->attr_or("class") == css_class) found.push_back(p);
  return found;
}

std::string tooltip(const Element& cell) {
  for (const auto& c : cell.children)
    if (c->name == "title") return c->text;
  return {};
}

// The number after " = " at the end of a cell tooltip ("L[1, 2] = -0.25").
double tooltip_value(const Element& cell) {
  const std::string t = tooltip(cell);
  const auto at = t.rfind(" = ");
  REQUIRE(at != std::string::npos);
  const std::string v = t.substr(at + 3);
  if (v == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (v == "inf") return std::numeric_limits<double>::infinity();
  if (v == "-inf") return -std::numeric_limits<double>::infinity();
  return std::stod(v);
}

std::vector<std::string> texts(const Element& root) {
  std::vector<std::string> out;
  for (const Element* t : root.find_all("text")) out.push_back(t->all_text());
  return out;
}

bool has_text(const Element& root, const std::string& needle) {
  for (const std::string& t : texts(root))
    if (t.find(needle) != std::string::npos) return true;
  return false;
}

struct Rgb {
  int r, g, b;
};

Rgb parse_hex(const std::string& hex) {
  REQUIRE(hex.size() == 7);
  REQUIRE(hex[0] == '#');
  return {std::stoi(hex.substr(1, 2), nullptr, 16), std::stoi(hex.substr(3, 2), nullptr, 16),
          std::stoi(hex.substr(5, 2), nullptr, 16)};
}

// CSS Color 4's HSL conversion (the hue-to-RGB formulation), independent of the library's.
Rgb css_hsl(double hue, double sat, double light) {
  const double t2 = light <= 0.5 ? light * (sat + 1) : light + sat - light * sat;
  const double t1 = light * 2 - t2;
  auto channel = [&](double h) {
    if (h < 0) h += 6;
    if (h >= 6) h -= 6;
    double v;
    if (h < 1) v = (t2 - t1) * h + t1;
    else if (h < 3) v = t2;
    else if (h < 4) v = (t2 - t1) * (4 - h) + t1;
    else v = t1;
    return static_cast<int>(std::lround(v * 255));
  };
  const double h = hue / 60;
  return {channel(h + 2), channel(h), channel(h - 2)};
}

// The documented colour rule: positive hue 213°, negative 4°, saturation 0.78, lightness from
// 0.94 (|x| → 0) down to 0.43 (|x| = max|x|) along √(|x| / max|x|).
Rgb expected_colour(double x, double max_abs) {
  const double t = std::sqrt(std::min(std::fabs(x) / max_abs, 1.0));
  return css_hsl(x < 0 ? 4 : 213, 0.78, 0.94 - 0.51 * t);
}

void check_colour(const Element& cell, double x, double max_abs) {
  const Rgb want = expected_colour(x, max_abs);
  const Rgb got = parse_hex(cell.attr_or("fill"));
  INFO("value " << x << " of max " << max_abs << ": fill " << cell.attr_or("fill"));
  CHECK(std::abs(got.r - want.r) <= 1);
  CHECK(std::abs(got.g - want.g) <= 1);
  CHECK(std::abs(got.b - want.b) <= 1);
}

double lightness(const Element& cell) {
  const Rgb c = parse_hex(cell.attr_or("fill"));
  return (std::max({c.r, c.g, c.b}) + std::min({c.r, c.g, c.b})) / 510.0;
}

Tensor<float, 2> matrix_of(std::int64_t rows, std::int64_t cols, const std::vector<float>& values) {
  Tensor<float, 2> m({rows, cols});
  REQUIRE(static_cast<std::int64_t>(values.size()) == rows * cols);
  for (std::int64_t i = 0; i < m.numel(); ++i) m.data()[i] = values[static_cast<std::size_t>(i)];
  return m;
}

// |tooltip − ref| within the reference tolerance plus the 5 significant digits printed.
template <class T>
bool close_to_reference(double shown, const Ref& ref, std::size_t k) {
  const double v = ref.val[k];
  const double tol = ulp_of<T>(v) + 2 * std::sqrt(static_cast<double>(ref.K)) * 0x1p-24 * ref.mag[k] + 6e-5 * std::fabs(v);
  return std::fabs(shown - v) <= tol;
}

}  // namespace

// ---------------------------------------------------------------- the checker itself

TEST_CASE("xml checker: accepts well-formed documents and rejects malformed ones", "[viz][xml]") {
  const auto ok = xml::parse(
      "<?xml version=\"1.0\"?>\n<!-- c --><a x='1' y=\"&lt;&amp;&#65;&#x42;\"><b/>t&gt;<![CDATA[<raw>]]><?pi x?></a>\n");
  CHECK(ok->name == "a");
  CHECK(ok->attr_or("y") == "<&AB");
  CHECK(ok->text == "t><raw>");
  REQUIRE(ok->children.size() == 1);
  CHECK(ok->children[0]->name == "b");

  const std::vector<std::string> bad = {
      "",                                   // no root
      "<a>",                                // unterminated
      "<a></b>",                            // mismatched end tag
      "<a><b></a></b>",                     // bad nesting
      "<a/><b/>",                           // two roots
      "<a x=1/>",                           // unquoted attribute
      "<a x='1' x='2'/>",                   // duplicate attribute
      "<a>&nbsp;</a>",                      // undefined entity
      "<a>& </a>",                          // bare ampersand
      "<a x='<'/>",                         // '<' in attribute
      "<a>]]></a>",                         // ]]> in text
      "<a><!-- x -- y --></a>",             // -- in comment
      "<a>&#0;</a>",                        // reference to a non-Char
      "<a>\x01</a>",                        // control character
      "<a>\xC3</a>",                        // truncated UTF-8
      "<a><?xml version='1.0'?></a>",       // declaration not at the start
      "<1a/>",                              // bad name
      "<a b='1'c='2'/>",                    // no space between attributes
      "<!DOCTYPE a><a/>",                   // DTD not supported
      "<a/>x",                              // text after the root
  };
  for (const std::string& doc : bad) {
    INFO("document: " << doc);
    CHECK_THROWS_AS(xml::parse(doc), xml::ParseError);
  }
}

// ---------------------------------------------------------------- matmul_svg

TEST_CASE("matmul_svg: well-formed, one cell per element, three named faces", "[viz]") {
  const auto L = random_tensor<float, 2>({3, 4}, 11);
  const auto R = random_tensor<float, 2>({4, 2}, 12);
  const std::string svg = viz::matmul_svg(L, R);
  const auto root = parse_svg(svg);
  CHECK(cells_of(*root, "L").size() == 12);
  CHECK(cells_of(*root, "R").size() == 8);
  CHECK(cells_of(*root, "L @ R").size() == 6);

  const auto faces = outlines(*root, "face");
  REQUIRE(faces.size() == 3);
  std::map<std::string, std::string> face_of;
  for (const Element* f : faces) face_of[f->attr_or("data-matrix")] = f->attr_or("data-face");
  CHECK(face_of["L"] == "left");
  CHECK(face_of["R"] == "top");
  CHECK(face_of["L @ R"] == "front");

  // No scripts, no external references: the document stands alone.
  CHECK(root->find_all("script").empty());
  CHECK(svg.find("href") == std::string::npos);
  CHECK(svg.find("@import") == std::string::npos);
  CHECK(svg.find("url(") == std::string::npos);

  // The tooltips name every element in the user's indexing.
  const auto lc = cells_of(*root, "L");
  for (std::int64_t r = 0; r < 3; ++r)
    for (std::int64_t c = 0; c < 4; ++c) {
      const std::string t = tooltip(*lc[static_cast<std::size_t>(r * 4 + c)]);
      CHECK(t.rfind("L[" + std::to_string(r) + ", " + std::to_string(c) + "] = ", 0) == 0);
      CHECK(tooltip_value(*lc[static_cast<std::size_t>(r * 4 + c)]) == Approx(L(r, c)).epsilon(1e-4));
    }
}

TEST_CASE("matmul_svg: colours follow mm's rule (blue +, red -, √ intensity, zero blank)", "[viz]") {
  // L's largest |x| is 4 (negative), its most positive element 2; R's largest is 1.
  const auto L = matrix_of(2, 3, {2.0f, 0.0f, -4.0f, 1.0f, 0.25f, -0.5f});
  const auto R = matrix_of(3, 2, {1.0f, 0.0f, 0.5f, -1.0f, 0.0f, 0.0f});
  const auto root = parse_svg(viz::matmul_svg(L, R));
  const auto lc = cells_of(*root, "L");
  REQUIRE(lc.size() == 6);
  for (std::size_t k = 0; k < 6; ++k) {
    const double x = L.data()[k];
    if (x == 0) {
      CHECK(lc[k]->attr_or("fill") == "none");
      continue;
    }
    check_colour(*lc[k], x, 4.0);
    const Rgb c = parse_hex(lc[k]->attr_or("fill"));
    if (x > 0) CHECK(c.b > c.r);
    else CHECK(c.r > c.b);
  }
  // The most positive element of L is the strongest (darkest) blue of L's face.
  double darkest_positive = 2;
  for (std::size_t k = 0; k < 6; ++k)
    if (L.data()[k] > 0) darkest_positive = std::min(darkest_positive, lightness(*lc[k]));
  CHECK(lightness(*lc[0]) == darkest_positive);
  // R: its max|x| = 1 gets the full intensity on its own scale, the zeros no fill.
  const auto rc = cells_of(*root, "R");
  check_colour(*rc[0], 1.0, 1.0);
  check_colour(*rc[3], -1.0, 1.0);
  CHECK(rc[1]->attr_or("fill") == "none");
  CHECK(rc[4]->attr_or("fill") == "none");
  CHECK(rc[5]->attr_or("fill") == "none");
  CHECK(lightness(*rc[0]) == Approx(lightness(*lc[2])).margin(0.004));  // both at their own max

  // With global_scale every face is coloured against the largest |x| of the picture.
  viz::Options global;
  global.global_scale = true;
  const auto C = tessel::matmul(L, R);
  double max_all = 4;
  for (std::int64_t i = 0; i < C.numel(); ++i) max_all = std::max(max_all, std::fabs(double(C.data()[i])));
  const auto g = parse_svg(viz::matmul_svg(L, R, global));
  check_colour(*cells_of(*g, "R")[0], 1.0, max_all);
  check_colour(*cells_of(*g, "L")[0], 2.0, max_all);
}

TEMPLATE_TEST_CASE("matmul_svg: the front face is tessel::matmul's product", "[viz]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  const auto L = random_tensor<T, 2>({5, 7}, 21);
  const auto R = random_tensor<T, 2>({7, 4}, 22);
  const auto root = parse_svg(viz::matmul_svg(L, R));
  const Ref ref = ref_matmul(dense(L), dense(R));
  const auto cells = cells_of(*root, "L @ R");
  REQUIRE(cells.size() == 20);
  for (std::size_t k = 0; k < cells.size(); ++k) {
    INFO("element " << k << ": " << tooltip(*cells[k]) << " vs " << ref.val[k]);
    CHECK(close_to_reference<T>(tooltip_value(*cells[k]), ref, k));
  }
  CHECK(has_text(*root, type_name<T>() == std::string("float") ? "float32" : type_name<T>()));
}

TEST_CASE("matmul_svg: labels state the names, the sizes and the dtype", "[viz]") {
  const auto L = random_tensor<tessel::bfloat16, 2>({9, 3}, 31);
  const auto R = random_tensor<tessel::bfloat16, 2>({3, 5}, 32);
  const auto root = parse_svg(viz::matmul_svg(L, R));
  for (const char* want : {"i = 9", "k = 3", "j = 5", "L [9, 3]", "R [3, 5]", "L @ R [9, 5]", "bfloat16"}) {
    INFO(want);
    CHECK(has_text(*root, want));
  }
  // No block note when nothing is aggregated.
  CHECK_FALSE(has_text(*root, "blocks"));

  viz::Options names;
  names.left_name = "x";
  names.right_name = "Wᵀ";
  names.result_name = "y";
  const auto named = parse_svg(viz::matmul_svg(L, R, names));
  CHECK(has_text(*named, "x [9, 3]"));
  CHECK(has_text(*named, "Wᵀ [3, 5]"));
  CHECK(has_text(*named, "y [9, 5]"));
  CHECK(cells_of(*named, "y").size() == 45);
}

TEST_CASE("aggregate: each block shows its largest magnitude with its sign", "[viz]") {
  // 4 × 6 in blocks of 2 × 3 (max_cells = 2 on both axes).
  const std::vector<float> m = {
      1, -5, 2, /**/ 0, 0, 0,    //
      3, 4, -1, /**/ 0, 0, 0,    //
      3, 0, 0, /**/ 7, 1, NAN,   //
      0, -3, 0, /**/ -8, INFINITY, 2,
  };
  const viz::AxisCells rows = viz::axis_cells(4, 2), cols = viz::axis_cells(6, 2);
  CHECK(rows.block == 2);
  CHECK(cols.block == 3);
  const viz::CellGrid g = viz::aggregate(rows, cols, [&](std::int64_t r, std::int64_t c) { return m[r * 6 + c]; });
  REQUIRE(g.value.size() == 4);
  CHECK(g.value[0] == -5);  // the negative element has the largest magnitude
  CHECK(g.source_row[0] == 0);
  CHECK(g.source_col[0] == 1);
  CHECK(g.value[1] == 0);   // an all-zero block shows 0
  CHECK(g.value[2] == 3);   // +3 and -3 tie: the first in row-major order
  CHECK(g.source_row[2] == 2);
  CHECK(g.source_col[2] == 0);
  CHECK(std::isnan(g.value[3]));  // a NaN is never hidden, even by an Inf
  CHECK(g.max_abs == 8);          // finite values only
  CHECK(g.nan_count == 1);
  CHECK(g.inf_count == 1);

  // A short last block: 5 elements in blocks of 2 give cells of 2, 2 and 1 (drawn half long).
  const viz::AxisCells five = viz::axis_cells(5, 3);
  CHECK(five.block == 2);
  CHECK(five.cells == 3);
  CHECK(five.count(2) == 1);
  CHECK(five.length(2) == 0.5);
  CHECK(five.extent() == 2.5);
  CHECK(viz::axis_cells(64, 64).block == 1);
  CHECK(viz::axis_cells(65, 64).block == 2);
  CHECK(viz::axis_cells(0, 64).cells == 0);
}

TEST_CASE("matmul_svg: large matrices are aggregated; the picture stays small", "[viz]") {
  SECTION("known block maxima through the picture") {
    // 128 × 128 with max_cells = 64: blocks of 2 × 2. Block (p, q) holds p·q+1 at one
    // position and smaller values around it; every fourth block's maximum is negative.
    Tensor<float, 2> L({128, 128});
    for (std::int64_t r = 0; r < 128; ++r)
      for (std::int64_t c = 0; c < 128; ++c) {
        const std::int64_t p = r / 2, q = c / 2;
        const float top = static_cast<float>(p * q + 1) * ((p + q) % 4 == 0 ? -1.0f : 1.0f);
        L(r, c) = (r % 2 == (p % 2) && c % 2 == (q % 2)) ? top : 0.5f * std::fabs(top) * ((r + c) % 3 == 0 ? -1 : 1);
      }
    const auto R = random_tensor<float, 2>({128, 3}, 41);
    const auto root = parse_svg(viz::matmul_svg(L, R));
    const auto lc = cells_of(*root, "L");
    REQUIRE(lc.size() == 64 * 64);
    for (std::int64_t p = 0; p < 64; p += 7)
      for (std::int64_t q = 0; q < 64; q += 5) {
        const Element& cell = *lc[static_cast<std::size_t>(p * 64 + q)];
        const double want = static_cast<double>(p * q + 1) * ((p + q) % 4 == 0 ? -1 : 1);
        const std::string t = tooltip(cell);
        INFO(t);
        CHECK(tooltip_value(cell) == Approx(want).epsilon(1e-4));
        const std::string where = "L[" + std::to_string(2 * p + p % 2) + ", " + std::to_string(2 * q + q % 2) + "]";
        CHECK(t.find("largest |x| at " + where) != std::string::npos);
        CHECK(t.rfind("L[" + std::to_string(2 * p) + ":" + std::to_string(2 * p + 2) + ", ", 0) == 0);
      }
    CHECK(has_text(*root, "elements per cell: i 2, k 2, j 1"));
    CHECK(cells_of(*root, "R").size() == 64 * 3);
  }
  // The picture of L @ R, which must stay well under 8 MB.
  auto small_picture = [](const Tensor<float, 2>& L, const Tensor<float, 2>& R) {
    const std::string svg = viz::matmul_svg(L, R);
    INFO("bytes: " << svg.size());
    CHECK(svg.size() < 4u * 1024 * 1024);
    return parse_svg(svg);
  };
  SECTION("4096 × 4096") {
    Tensor<float, 2> L({4096, 4096});
    for (std::int64_t i = 0; i < L.numel(); ++i) L.data()[i] = static_cast<float>(std::sin(0.001 * double(i)));
    const auto root = small_picture(L, random_tensor<float, 2>({4096, 8}, 42));
    CHECK(cells_of(*root, "L").size() == 64 * 64);
    CHECK(cells_of(*root, "R").size() == 64 * 8);
    CHECK(cells_of(*root, "L @ R").size() == 64 * 8);
    CHECK(has_text(*root, "elements per cell: i 64, k 64, j 1"));
    CHECK(has_text(*root, "not to scale"));
  }
  SECTION("a 4096 × 4096 product") {
    const auto root = small_picture(random_tensor<float, 2>({4096, 48}, 43), random_tensor<float, 2>({48, 4096}, 44));
    CHECK(cells_of(*root, "L @ R").size() == 64 * 64);
  }
}

TEST_CASE("matmul_svg: NaN and Inf are drawn on purpose", "[viz]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const auto L = matrix_of(2, 2, {nan, 0.5f, -inf, 2.0f});
  const auto R = matrix_of(2, 2, {1.0f, 0.0f, 0.0f, 1.0f});
  const auto root = parse_svg(viz::matmul_svg(L, R));
  const auto lc = cells_of(*root, "L");
  REQUIRE(lc.size() == 4);
  CHECK(lc[0]->attr_or("class") == "nan");
  CHECK(lc[0]->attr_or("fill") == viz::ColourScale::nan_colour.hex());
  CHECK(std::isnan(tooltip_value(*lc[0])));
  CHECK(lc[2]->attr_or("class") == "inf");
  check_colour(*lc[2], -1, 1);  // the strongest red
  // Inf is not part of max|x|: 0.5 is coloured against 2, the largest finite value.
  check_colour(*lc[1], 0.5, 2.0);
  check_colour(*lc[3], 2.0, 2.0);
  // The product follows IEEE rules through the engine: NaN spreads along its row, and
  // -inf·0 is NaN: C = [[nan, nan], [-inf, nan]].
  const auto cc = cells_of(*root, "L @ R");
  CHECK(std::isnan(tooltip_value(*cc[0])));
  CHECK(std::isnan(tooltip_value(*cc[1])));
  CHECK(tooltip_value(*cc[2]) == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(tooltip_value(*cc[3])));
  CHECK(has_text(*root, "NaN (4)"));   // one in L, three in the product
  CHECK(has_text(*root, "±Inf (2)"));  // one in L, one in the product
}

TEST_CASE("matmul_svg: empty operands give a clear picture", "[viz]") {
  SECTION("no rows") {
    const Tensor<float, 2> L({0, 4});
    const auto R = random_tensor<float, 2>({4, 3}, 51);
    const auto root = parse_svg(viz::matmul_svg(L, R));
    CHECK(cells_of(*root, "L").empty());
    CHECK(cells_of(*root, "R").size() == 12);
    CHECK(cells_of(*root, "L @ R").empty());
    CHECK(has_text(*root, "i = 0"));
    CHECK(has_text(*root, "L @ R [0, 3] has no elements"));
  }
  SECTION("k = 0: an all-zero product") {
    const Tensor<float, 2> L({3, 0}), R({0, 2});
    const auto root = parse_svg(viz::matmul_svg(L, R));
    const auto cc = cells_of(*root, "L @ R");
    REQUIRE(cc.size() == 6);
    for (const Element* c : cc) CHECK(c->attr_or("fill") == "none");
    CHECK(has_text(*root, "k = 0: every element of L @ R is an empty sum"));
  }
  SECTION("everything empty") {
    const Tensor<float, 2> L({0, 0}), R({0, 0});
    const auto root = parse_svg(viz::matmul_svg(L, R));
    CHECK(outlines(*root, "face").size() == 3);
  }
}

// Ranks other than 2 are compile errors, not run-time ones.
template <class A, class B>
concept DrawableMatmul = requires(const A& a, const B& b) { viz::matmul_svg(a, b); };
static_assert(DrawableMatmul<Tensor<float, 2>, Tensor<float, 2>>);
static_assert(DrawableMatmul<TensorView<float, 2>, TensorView<const float, 2>>);
static_assert(!DrawableMatmul<Tensor<float, 3>, Tensor<float, 2>>);
static_assert(!DrawableMatmul<Tensor<float, 2>, Tensor<float, 1>>);
static_assert(!DrawableMatmul<Tensor<float, 2>, Tensor<tessel::bfloat16, 2>>);  // one element type
template <class A, class W>
concept DrawableMultiHead = requires(const A& a, const W& w) { viz::multi_head_svg(a, w, 2); };
static_assert(DrawableMultiHead<Tensor<float, 3>, Tensor<float, 2>>);
static_assert(!DrawableMultiHead<Tensor<float, 2>, Tensor<float, 2>>);

TEST_CASE("matmul_svg: bad input throws shape_error before drawing anything", "[viz]") {
  const auto L = random_tensor<float, 2>({3, 4}, 61);
  const auto R = random_tensor<float, 2>({5, 2}, 62);
  const std::string msg = error_of([&] { (void)viz::matmul_svg(L, R); });
  CHECK(msg.find("matmul_svg") != std::string::npos);
  CHECK(msg.find("[3, 4]") != std::string::npos);
  CHECK(msg.find("[5, 2]") != std::string::npos);

  const auto R2 = random_tensor<float, 2>({4, 2}, 63);
  viz::Options o;
  o.max_cells = 0;
  CHECK(error_of([&] { (void)viz::matmul_svg(L, R2, o); }).find("max_cells") != std::string::npos);
  o = {};
  o.cell_px = -1;
  CHECK(error_of([&] { (void)viz::matmul_svg(L, R2, o); }).find("cell_px") != std::string::npos);
  o.cell_px = std::numeric_limits<double>::quiet_NaN();
  CHECK(error_of([&] { (void)viz::matmul_svg(L, R2, o); }).find("cell_px") != std::string::npos);
  o = {};
  o.max_edge_px = 0;
  CHECK(error_of([&] { (void)viz::matmul_svg(L, R2, o); }).find("max_edge_px") != std::string::npos);
}

TEST_CASE("matmul_svg: options", "[viz]") {
  const auto L = matrix_of(2, 2, {1.0f, 0.01f, -0.25f, 0.0f});
  const auto R = matrix_of(2, 1, {1.0f, -1.0f});
  SECTION("size_by_magnitude shrinks small values, tooltips can be left out") {
    viz::Options o;
    o.size_by_magnitude = true;
    o.tooltips = false;
    const auto root = parse_svg(viz::matmul_svg(L, R, o));
    const auto lc = cells_of(*root, "L");
    const double big = std::stod(lc[0]->attr_or("width")), small = std::stod(lc[1]->attr_or("width")),
                 mid = std::stod(lc[2]->attr_or("width"));
    CHECK(small < mid);
    CHECK(mid < big);
    CHECK(small == Approx(big * (0.3 + 0.7 * std::sqrt(0.01)) / 1.0).epsilon(0.02));
    CHECK(root->find_all("title").size() == 1);  // the document's own title only
  }
  SECTION("cell_px sets the size of a cell") {
    viz::Options o;
    o.cell_px = 30;
    const auto root = parse_svg(viz::matmul_svg(L, R, o));
    const std::string m = cell_groups(*root, "L @ R")[0]->attr_or("transform");
    CHECK(m.rfind("matrix(25.9808 -15 0 30 ", 0) == 0);  // 30 px along j (at 30°) and along i
  }
  SECTION("to_scale keeps edge lengths proportional") {
    const auto big = random_tensor<float, 2>({256, 16}, 71);
    const auto r = random_tensor<float, 2>({16, 64}, 72);
    viz::Options o;
    o.to_scale = true;
    const auto root = parse_svg(viz::matmul_svg(big, r, o));
    CHECK(cells_of(*root, "L").size() == 64 * 4);  // blocks of 4 on every axis
    CHECK(cells_of(*root, "L @ R").size() == 64 * 16);
    CHECK(has_text(*root, "elements per cell: i 4, k 4, j 4"));
    const auto plain = parse_svg(viz::matmul_svg(big, r));
    CHECK(cells_of(*plain, "L").size() == 64 * 16);
  }
  SECTION("names with XML's special characters stay well-formed") {
    viz::Options o;
    o.left_name = "a<&>\"'";
    o.title = "<script>alert(1)</script> & more";
    const std::string svg = viz::matmul_svg(L, R, o);
    const auto root = parse_svg(svg);
    CHECK(root->find_all("script").empty());
    CHECK(has_text(*root, "<script>alert(1)</script> & more"));
    CHECK(cells_of(*root, "a<&>\"'").size() == 4);
  }
}

TEST_CASE("matmul_svg: highlight traces one element to its row of L and its column of R", "[viz]") {
  const auto L = random_tensor<float, 2>({4, 3}, 91);
  const auto R = random_tensor<float, 2>({3, 5}, 92);
  viz::Options o;
  o.highlight = {{2, 3}};
  const auto root = parse_svg(viz::matmul_svg(L, R, o));
  std::vector<const Element*> marks;
  for (const Element* p : root->find_all("polygon"))
    if (p->attr_or("class") == "mark") marks.push_back(p);
  REQUIRE(marks.size() == 3);
  // The last outline is cell (2, 3) of the front face: its corners are that cell's corners
  // under the face's transform.
  double a, b, c, d, e, f;
  REQUIRE(std::sscanf(cell_groups(*root, "L @ R")[0]->attr_or("transform").c_str(), "matrix(%lf %lf %lf %lf %lf %lf)",
                      &a, &b, &c, &d, &e, &f) == 6);
  std::vector<std::pair<double, double>> corners;
  for (auto [u, v] : std::vector<std::pair<double, double>>{{3, 2}, {4, 2}, {4, 3}, {3, 3}})
    corners.push_back({a * u + c * v + e, b * u + d * v + f});
  std::vector<std::pair<double, double>> got;
  std::string pts = marks[2]->attr_or("points");
  for (char& ch : pts)
    if (ch == ',') ch = ' ';
  std::istringstream in(pts);
  for (double x, y; in >> x >> y;) got.push_back({x, y});
  REQUIRE(got.size() == 4);
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(got[k].first == Approx(corners[k].first).margin(0.02));
    CHECK(got[k].second == Approx(corners[k].second).margin(0.02));
  }
  const auto C = tessel::matmul(L, R);
  char value[32];
  std::snprintf(value, sizeof value, "%.5g", static_cast<double>(C(2, 3)));
  CHECK(has_text(*root, std::string("(L @ R)[2, 3] = Σ_k L[2, k] · R[k, 3] = ") + value));
  o.highlight = {{4, 0}};
  CHECK(error_of([&] { (void)viz::matmul_svg(L, R, o); }).find("highlight (4, 0) is outside") != std::string::npos);
}

TEST_CASE("matmul_svg: Tensors, views and reshape results deduce T and draw the same", "[viz]") {
  auto L = random_tensor<float, 2>({4, 6}, 81);
  const auto R = random_tensor<float, 2>({6, 3}, 82);
  const std::string ref = viz::matmul_svg<float>(L.view(), R.view());
  TensorView<float, 2> mutable_view = L.view();
  CHECK(viz::matmul_svg(mutable_view, R) == ref);
  CHECK(viz::matmul_svg(L.view().reshape(4, 6), R) == ref);
  // A strided operand (a transposed copy viewed back) gives the same picture.
  const auto Lt = L.view().transpose(0, 1).clone();
  CHECK(viz::matmul_svg(Lt.view().transpose(0, 1), R) == ref);
}

// ---------------------------------------------------------------- chain_svg

TEST_CASE("chain_svg: (A @ B) @ C as two boxes sharing the face A @ B", "[viz]") {
  const auto A = random_tensor<float, 2>({5, 3}, 131);
  const auto B = random_tensor<float, 2>({3, 6}, 132);
  const auto C = random_tensor<float, 2>({6, 4}, 133);
  const auto root = parse_svg(viz::chain_svg(A, B, C));
  std::map<std::string, std::string> face_of;
  for (const Element* f : outlines(*root, "face")) face_of[f->attr_or("data-matrix")] = f->attr_or("data-face");
  CHECK(face_of.size() == 5);
  CHECK(face_of["A"] == "back");
  CHECK(face_of["B"] == "floor");
  CHECK(face_of["A @ B"] == "left");  // the child's result is the parent's left face, drawn once
  CHECK(face_of["C"] == "top");
  CHECK(face_of["(A @ B) @ C"] == "front");
  CHECK(cells_of(*root, "A").size() == 15);
  CHECK(cells_of(*root, "B").size() == 18);
  CHECK(cells_of(*root, "C").size() == 24);
  const auto ab = cells_of(*root, "A @ B");
  const auto abc = cells_of(*root, "(A @ B) @ C");
  REQUIRE(ab.size() == 30);
  REQUIRE(abc.size() == 20);
  const Ref ref_ab = ref_matmul(dense(A), dense(B));
  for (std::size_t k = 0; k < ab.size(); ++k) CHECK(close_to_reference<float>(tooltip_value(*ab[k]), ref_ab, k));
  // The second product multiplies the intermediate as tessel returned it (two calls).
  const auto AB = tessel::matmul(A, B);
  const Ref ref_abc = ref_matmul(dense(AB), dense(C));
  for (std::size_t k = 0; k < abc.size(); ++k) CHECK(close_to_reference<float>(tooltip_value(*abc[k]), ref_abc, k));
  CHECK(tooltip(*abc[7]).rfind("((A @ B) @ C)[1, 3] = ", 0) == 0);
  for (const char* want : {"i = 5", "k₁ = 3", "k = 6", "j = 4"}) {
    INFO(want);
    CHECK(has_text(*root, want));
  }

  const auto Cbad = random_tensor<float, 2>({5, 4}, 134);
  const std::string msg = error_of([&] { (void)viz::chain_svg(A, B, Cbad); });
  CHECK(msg.find("chain_svg") != std::string::npos);
  CHECK(msg.find("[5, 4]") != std::string::npos);
  CHECK(error_of([&] { (void)viz::chain_svg(B, A, C); }).find("A.size(1) must equal B.size(0)") != std::string::npos);
}

// ---------------------------------------------------------------- multi_head_svg

TEST_CASE("multi_head_svg: one box per head, the split and O2's values", "[viz]") {
  const std::int64_t b = 2, s = 3, h = 8, nh = 4, e = 5, hd = h / nh;
  const auto A1 = random_tensor<float, 3>({b, s, h}, 91);
  const auto W1 = random_tensor<float, 2>({h, e}, 92);
  const auto root = parse_svg(viz::multi_head_svg(A1, W1, nh));
  CHECK(outlines(*root, "face").size() == 3 * nh);
  CHECK(outlines(*root, "panel").size() == 2 * nh);  // A1's column blocks, W1's row blocks
  const Ref ref = ref_multi_head(dense(A1), dense(W1), nh);
  for (std::int64_t n = 0; n < nh; ++n) {
    const std::string head = "head " + std::to_string(n);
    CHECK(has_text(*root, head));
    const auto left = cells_of(*root, head + ": A1 head " + std::to_string(n) + " as [b·s, hd]");
    const auto top = cells_of(*root, head + ": W1 head " + std::to_string(n));
    const auto front = cells_of(*root, head + ": O2 head " + std::to_string(n) + " as [b·s, e]");
    REQUIRE(left.size() == static_cast<std::size_t>(b * s * hd));
    REQUIRE(top.size() == static_cast<std::size_t>(hd * e));
    REQUIRE(front.size() == static_cast<std::size_t>(b * s * e));
    // Head n's left face is A1's column block n; its top face W1's row block n.
    for (std::int64_t r = 0; r < b * s; ++r)
      for (std::int64_t c = 0; c < hd; ++c) {
        const Element& cell = *left[static_cast<std::size_t>(r * hd + c)];
        CHECK(tooltip(cell).rfind("A1[" + std::to_string(r / s) + ", " + std::to_string(r % s) + ", " +
                                      std::to_string(n * hd + c) + "]",
                                  0) == 0);
        CHECK(tooltip_value(cell) == Approx(A1(r / s, r % s, n * hd + c)).epsilon(1e-4));
      }
    CHECK(tooltip_value(*top[1]) == Approx(W1(n * hd, 1)).epsilon(1e-4));
    for (std::int64_t r = 0; r < b * s; ++r)
      for (std::int64_t c = 0; c < e; ++c) {
        const auto k = static_cast<std::size_t>(((r * nh) + n) * e + c);
        const Element& cell = *front[static_cast<std::size_t>(r * e + c)];
        INFO(tooltip(cell) << " vs " << ref.val[k]);
        CHECK(close_to_reference<float>(tooltip_value(cell), ref, k));
      }
  }
  CHECK(has_text(*root, "b·s = 6"));
  CHECK(has_text(*root, "hd = 2"));
  CHECK(has_text(*root, "e = 5"));
}

TEST_CASE("multi_head_svg: large shapes and many heads keep the picture small", "[viz]") {
  SECTION("[2, 128, 256] in 4 heads: the boxes share the cell budget") {
    const auto A1 = random_tensor<float, 3>({2, 128, 256}, 95);
    const auto W1 = random_tensor<float, 2>({256, 256}, 96);
    const std::string svg = viz::multi_head_svg(A1, W1, 4);
    INFO("bytes: " << svg.size());
    CHECK(svg.size() < 6u * 1024 * 1024);
    const auto root = parse_svg(svg);
    // max_cells 64 / √4 = 32 cells per axis: b·s = 256 in blocks of 8, hd = 64 in blocks of 2.
    CHECK(cells_of(*root, "head 0: A1 head 0 as [b·s, hd]").size() == 32 * 32);
    CHECK(cells_of(*root, "head 3: O2 head 3 as [b·s, e]").size() == 32 * 32);
    CHECK(has_text(*root, "elements per cell: b·s 8, hd 2, e 8"));
  }
  SECTION("16 heads wrap into rows of 4") {
    const auto A1 = random_tensor<float, 3>({1, 4, 32}, 97);
    const auto W1 = random_tensor<float, 2>({32, 3}, 98);
    const auto root = parse_svg(viz::multi_head_svg(A1, W1, 16));
    CHECK(outlines(*root, "face").size() == 48);
    std::map<std::string, double> y_of;
    for (const Element* t : root->find_all("text"))
      if (t->all_text().rfind("head ", 0) == 0 && t->attr_or("class") == "title")
        y_of[t->all_text()] = std::stod(t->attr_or("y"));
    REQUIRE(y_of.size() == 16);
    CHECK(y_of["head 0"] == y_of["head 3"]);
    CHECK(y_of["head 4"] > y_of["head 3"]);
    CHECK(y_of["head 15"] == y_of["head 12"]);
  }
}

TEST_CASE("multi_head_svg: bad input and empty operands", "[viz]") {
  const auto A1 = random_tensor<float, 3>({2, 3, 8}, 101);
  const auto W1 = random_tensor<float, 2>({8, 5}, 102);
  const auto W1bad = random_tensor<float, 2>({6, 5}, 103);
  CHECK(error_of([&] { (void)viz::multi_head_svg(A1, W1, 3); }).find("not divisible by num_heads = 3") !=
        std::string::npos);
  CHECK(error_of([&] { (void)viz::multi_head_svg(A1, W1, 0); }).find("num_heads") != std::string::npos);
  const std::string msg = error_of([&] { (void)viz::multi_head_svg(A1, W1bad, 2); });
  CHECK(msg.find("multi_head_svg") != std::string::npos);
  CHECK(msg.find("[6, 5]") != std::string::npos);

  const Tensor<float, 3> empty({0, 3, 8});
  const auto root = parse_svg(viz::multi_head_svg(empty, W1, 2));
  CHECK(outlines(*root, "face").size() == 6);
  CHECK(has_text(*root, "O2 has no elements"));
}

// ---------------------------------------------------------------- importance_svg

TEST_CASE("importance_svg: the selection highlighted, A3 and O3 in selection order", "[viz]") {
  const std::int64_t b = 2, s = 6, h = 8, nh = 2, e = 3, hd = h / nh;
  const auto A1 = random_tensor<float, 3>({b, s, h}, 111);
  const auto W1 = random_tensor<float, 2>({h, e}, 112);
  const auto P = random_tensor<float, 2>({b, s}, 113, 0.0, 1.0);
  const tessel::ImportanceOptions opt{.top_p = 0.25, .top_k = 3};
  const auto root = parse_svg(viz::importance_svg(A1, W1, P, nh, opt));

  const auto sel = ref_select<float>(dense(P), 0.25, 3);
  const auto t = static_cast<std::int64_t>(sel.size());
  REQUIRE(t > 0);
  REQUIRE(t < b * s);
  CHECK(has_text(*root, "t = " + std::to_string(t) + " of " + std::to_string(b * s) + " positions"));

  // P's cells are outlined exactly at the selected positions.
  std::int64_t marks = 0;
  for (const Element* r : root->find_all("rect")) marks += r->attr_or("class") == "mark" ? 1 : 0;
  CHECK(marks == t);
  // A1: the rows not selected are drawn faded, the selected ones at full strength.
  const auto a1 = cell_groups(*root, "A1");
  REQUIRE(a1.size() == 1);
  std::vector<bool> faded_rows;
  for (const auto& child : a1[0]->children) {
    const bool faded = child->name == "g" && child->attr_or("opacity") == "0.16";
    const std::size_t n = child->name == "g" ? child->find_all("rect").size() : 1;
    for (std::size_t k = 0; k < n; ++k) faded_rows.push_back(faded);
  }
  REQUIRE(faded_rows.size() == static_cast<std::size_t>(b * s * h));
  for (std::int64_t p = 0; p < b * s; ++p) {
    const bool selected = std::find(sel.begin(), sel.end(), p) != sel.end();
    CHECK(faded_rows[static_cast<std::size_t>(p * h)] == !selected);
  }
  // A3 lists the selected rows in selection order.
  const auto a3 = cells_of(*root, "A3");
  REQUIRE(a3.size() == static_cast<std::size_t>(t * h));
  for (std::int64_t r = 0; r < t; ++r) {
    const std::string want = "A3[" + std::to_string(r) + ", 0] = A1[" + std::to_string(sel[r] / s) + ", " +
                             std::to_string(sel[r] % s) + ", 0]";
    CHECK(tooltip(*a3[static_cast<std::size_t>(r * h)]).rfind(want, 0) == 0);
  }
  // O3's rows in the same order, with the values of the fp64 reference.
  const Ref ref = ref_importance_forward(dense(A1), dense(W1), nh, sel);
  for (std::int64_t n = 0; n < nh; ++n) {
    const std::string head = "head " + std::to_string(n);
    const auto front = cells_of(*root, head + ": O3[:, " + std::to_string(n) + ", :]");
    REQUIRE(front.size() == static_cast<std::size_t>(t * e));
    for (std::int64_t r = 0; r < t; ++r)
      for (std::int64_t c = 0; c < e; ++c) {
        const auto k = static_cast<std::size_t>((r * nh + n) * e + c);
        CHECK(close_to_reference<float>(tooltip_value(*front[static_cast<std::size_t>(r * e + c)]), ref, k));
      }
    CHECK(cells_of(*root, head + ": A3 head " + std::to_string(n)).size() == static_cast<std::size_t>(t * hd));
  }
}

TEST_CASE("importance_svg: nothing selected, and bad input", "[viz]") {
  const auto A1 = random_tensor<float, 3>({2, 4, 4}, 121);
  const auto W1 = random_tensor<float, 2>({4, 3}, 122);
  const auto P = random_tensor<float, 2>({2, 4}, 123, 0.0, 0.5);
  const auto root = parse_svg(viz::importance_svg(A1, W1, P, 2, opts(0.9)));
  CHECK(cells_of(*root, "A3").empty());
  CHECK(has_text(*root, "No position passed (t = 0)"));
  CHECK(outlines(*root, "face").size() == 6);

  const auto Pbad = random_tensor<float, 2>({2, 5}, 124);
  CHECK(error_of([&] { (void)viz::importance_svg(A1, W1, Pbad, 2); }).find("P has shape [2, 5]") != std::string::npos);
  CHECK(error_of([&] { (void)viz::importance_svg(A1, W1, P, 2, opts(0.0, 5)); }).find("top_k") != std::string::npos);
  CHECK(error_of([&] { (void)viz::importance_svg(A1, W1, P, 2, opts(1.5)); }).find("top_p") != std::string::npos);
  CHECK(error_of([&] { (void)viz::importance_svg(A1, W1, P, 3); }).find("num_heads = 3") != std::string::npos);
}

// ---------------------------------------------------------------- qkv_views_svg

TEST_CASE("qkv_views_svg: which elements each order calls q", "[viz]") {
  const std::int64_t b = 2, s = 2, nh = 2, hd = 3, h = nh * hd, w = 3 * h;
  for (const auto layout : {viz::QkvLayout::blocks, viz::QkvLayout::per_head}) {
    const bool blocks = layout == viz::QkvLayout::blocks;
    INFO((blocks ? "[W_q | W_k | W_v]" : "per head"));
    const auto root = parse_svg(viz::qkv_views_svg(b, s, nh, hd, layout));
    CHECK(cells_of(*root, "x").size() == static_cast<std::size_t>(b * s * w));
    for (const char* tag : {"a", "b"}) {
      const bool split_first = std::string(tag) == "a";
      const auto q = cells_of(*root, std::string("q-") + tag);
      REQUIRE(q.size() == static_cast<std::size_t>(b * s * h));
      std::int64_t right = 0;
      for (std::int64_t r = 0; r < b * s; ++r)
        for (std::int64_t n = 0; n < nh; ++n)
          for (std::int64_t d = 0; d < hd; ++d) {
            // Where each order reads q[i, j, n, d] from, by the strides PyTorch gives them.
            const std::int64_t col = split_first ? n * hd + d : n * 3 * hd + d;
            // Where that column came from under the weights' layout.
            const bool is_q = blocks ? col < h : (col % (3 * hd)) < hd;
            const std::int64_t head = blocks ? (col % h) / hd : col / (3 * hd);
            const bool ok = is_q && head == n;
            right += ok ? 1 : 0;
            const std::string t = tooltip(*q[static_cast<std::size_t>((r * nh + n) * hd + d)]);
            INFO(t);
            CHECK(t.find("reads x[" + std::to_string(r / s) + ", " + std::to_string(r % s) + ", " +
                         std::to_string(col) + "]") != std::string::npos);
            CHECK(t.find(ok ? "(right)" : "(wrong)") != std::string::npos);
          }
      const bool this_one_is_right = split_first == blocks;
      CHECK((right == b * s * h) == this_one_is_right);
    }
    CHECK(has_text(*root, "✓ every element of q is q of its own head"));
    CHECK(has_text(*root, "elements are k, v or another head's q"));
  }
}

TEST_CASE("qkv_views_svg: bad input", "[viz]") {
  CHECK(error_of([] { (void)viz::qkv_views_svg(0, 2, 2, 3); }).find("at least 1") != std::string::npos);
  CHECK(error_of([] { (void)viz::qkv_views_svg(1, 2, 2, -3); }).find("hd = -3") != std::string::npos);
  CHECK(error_of([] { (void)viz::qkv_views_svg(1, 2, 64, 64); }).find("at most 256") != std::string::npos);
}
