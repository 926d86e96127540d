// mm_pictures — a gallery of matmul pictures drawn by tessel/viz.hpp, in the style of PyTorch's
// mm visualiser (bhosmer/mm): L on the left face of a box, R on top, L @ R in front.
//
//   mm_pictures [folder]     (default: ./mm_pictures)
//
// Writes one SVG per picture and an index.html that shows them all; open index.html in any
// browser (nothing is fetched, no script runs). Hover a cell to read its value.
//
//   cmake --preset release && cmake --build --preset release --target example_mm_pictures
//   build/release/examples/mm_pictures /tmp/gallery && xdg-open /tmp/gallery/index.html
#include <tessel/tessel.hpp>
#include <tessel/viz.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using tessel::bfloat16;
using tessel::Tensor;

// Uniform values from std::mt19937_64, whose output sequence the standard fixes (unlike the
// distributions'), so every platform draws the same pictures.
struct Random {
  std::mt19937_64 engine;
  explicit Random(std::uint64_t seed) : engine(seed) {}
  double uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }  // [0, 1)
  double signed_unit() { return 2 * uniform() - 1; }
};

template <class T, std::size_t R>
Tensor<T, R> random_tensor(std::array<std::int64_t, R> shape, Random& rng) {
  Tensor<T, R> t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = T(static_cast<float>(rng.signed_unit()));
  return t;
}

struct Picture {
  std::string file, title, text;
};

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

std::string index_html(const std::vector<Picture>& pictures) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>tessel: pictures of matmuls</title>\n<style>\n"
      "body{font-family:Helvetica,Arial,'DejaVu Sans',sans-serif;color:#2b2f38;margin:2em auto;max-width:1800px;"
      "padding:0 1.5em;line-height:1.45}\n"
      "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2.2em}p{max-width:60em}\n"
      "figure{margin:0.8em 0;overflow-x:auto}figure img{max-width:100%;height:auto;border:1px solid #e3e6eb}\n"
      "code{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:0.92em}\n"
      "</style>\n</head>\n<body>\n<h1>Pictures of matmuls</h1>\n"
      "<p>Drawn by <code>tessel/viz.hpp</code> the way PyTorch's <em>mm</em> visualiser draws a matmul: "
      "a box whose left face is <code>L [i, k]</code>, whose top face is <code>R [k, j]</code> and whose front face "
      "is <code>L @ R [i, j]</code>. Element <code>(i, j)</code> of the result is the sum along k of the row of L "
      "and the column of R that meet above and beside it. Blue is positive, red negative, the intensity grows with "
      "&radic;(|x| / max|x|), and exact zeros are blank. Open a picture on its own and hover a cell to read its "
      "value.</p>\n";
  for (const Picture& p : pictures) {
    h += "<h2>" + html_escape(p.title) + "</h2>\n<p>" + p.text + "</p>\n";
    h += "<figure><a href=\"" + p.file + "\"><img src=\"" + p.file + "\" alt=\"" + html_escape(p.title) +
         "\"></a></figure>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    namespace viz = tessel::viz;
    const std::filesystem::path folder = argc > 1 ? argv[1] : "mm_pictures";
    std::filesystem::create_directories(folder);
    Random rng(2024);
    std::vector<Picture> pictures;
    auto add = [&](const std::string& file, const std::string& title, const std::string& text, const std::string& svg) {
      write_file(folder / file, svg);
      pictures.push_back({file, title, text});
      std::printf("  %-28s %8zu bytes  %s\n", file.c_str(), svg.size(), title.c_str());
    };
    std::printf("mm_pictures: writing into %s\n", folder.string().c_str());

    // 1. One small matmul, with two exact zeros in L to show that zeros are blank.
    auto L = random_tensor<float, 2>({8, 6}, rng);
    auto R = random_tensor<float, 2>({6, 5}, rng);
    L(1, 4) = 0.0f;
    L(6, 0) = 0.0f;
    viz::Options highlight;
    highlight.highlight = {{2, 3}};
    add("matmul.svg", "L @ R", "Row 2 of L and column 3 of R meet over element (2, 3) of the product: it is their dot "
        "product, a sum along k. Each matrix has its own colour scale (mm's default): the strongest blue of a face is "
        "its largest positive element. Two elements of L are exactly 0 and stay blank.",
        viz::matmul_svg(L, R, highlight));
    viz::Options global;
    global.global_scale = true;
    add("matmul_global_scale.svg", "The same product on one colour scale",
        "<code>Options::global_scale</code>: one max|x| for all three faces, so colours compare across them. "
        "The product's sums are larger than the operands' entries, so L and R look paler here.",
        viz::matmul_svg(L, R, global));

    // 2. Attention scores of one head: q @ kᵀ in bfloat16, kᵀ a transposed (strided) view.
    auto q = random_tensor<bfloat16, 2>({6, 8}, rng);
    auto k = random_tensor<bfloat16, 2>({7, 8}, rng);
    viz::Options names;
    names.left_name = "q";
    names.right_name = "kᵀ";
    names.result_name = "scores";
    add("attention_scores.svg", "Attention scores: q @ kᵀ in bfloat16",
        "<code>matmul_svg(q, k.view().transpose(0, 1))</code>: the right operand is a transposed view (no copy). "
        "The sums run in fp32 and each score is rounded to bfloat16 once.",
        viz::matmul_svg(q, k.view().transpose(0, 1), names));

    // 3. A large product: the axes are cut into blocks, each showing its largest element.
    Tensor<float, 2> big_l({2048, 512}), big_r({512, 1024});
    for (std::int64_t r = 0; r < 2048; ++r)
      for (std::int64_t c = 0; c < 512; ++c)
        big_l(r, c) = static_cast<float>(std::sin(0.004 * r + 0.011 * c) + 0.15 * rng.signed_unit());
    for (std::int64_t r = 0; r < 512; ++r)
      for (std::int64_t c = 0; c < 1024; ++c)
        big_r(r, c) = static_cast<float>(std::cos(0.013 * r - 0.006 * c) + 0.15 * rng.signed_unit());
    add("matmul_large.svg", "A large product, aggregated: [2048, 512] @ [512, 1024]",
        "Past <code>Options::max_cells</code> cells per axis (64 by default) an axis is drawn in blocks; each cell "
        "shows the value of largest magnitude in its block, with its sign. The legend states the block sizes.",
        viz::matmul_svg(big_l, big_r));

    // A chain, drawn as mm draws a sub-expression: two boxes sharing the face A @ B.
    auto A = random_tensor<float, 2>({6, 4}, rng);
    auto B = random_tensor<float, 2>({4, 8}, rng);
    auto C = random_tensor<float, 2>({8, 5}, rng);
    add("chain.svg", "A chain: (A @ B) @ C",
        "<code>chain_svg(A, B, C)</code>: the result face of A @ B is the left face of the second product. The first "
        "box is seen from inside (A on its back wall, B on its floor), mm's alternating convex and concave boxes. "
        "With k = 8 wider than 4 or 5 this is the shape of a transformer's feed-forward block.",
        viz::chain_svg(A, B, C));

    // 4. The multi-head split (shapes of the tiny seed example: h = 16 in 4 heads of 4).
    auto A1 = random_tensor<float, 3>({2, 4, 16}, rng);
    auto W1 = random_tensor<float, 2>({16, 6}, rng);
    add("multi_head.svg", "matmul_with_multi_head: one box per head",
        "<code>O2 = matmul_with_multi_head(A1, W1, 4)</code>: h = 16 is split into 4 heads of hd = 4. Head n "
        "multiplies A1's column block n by W1's row block n; its result is <code>O2[:, :, n, :]</code>. A1's blocks "
        "share one colour scale, W1's one, O2's one.",
        viz::multi_head_svg(A1, W1, 4));

    // 5. The importance selection (b = 2, s = 8, h = 16, nh = 4, e = 8, top_k = 3).
    auto A1i = random_tensor<float, 3>({2, 8, 16}, rng);
    auto W1i = random_tensor<float, 2>({16, 8}, rng);
    Tensor<float, 2> P({2, 8});
    for (std::int64_t i = 0; i < P.numel(); ++i) P.data()[i] = static_cast<float>(rng.uniform());
    add("importance.svg", "matmul_with_importance: select, gather, multiply",
        "<code>matmul_with_importance(A1, W1, P, 4, {.top_p = 0.3, .top_k = 3})</code>: a position (i, j) is kept "
        "when P[i, j] &ge; top_p and j is among the 3 largest of its row. The kept rows of A1 are gathered in "
        "selection order and multiplied head by head; O3's rows follow the same order.",
        viz::importance_svg(A1i, W1i, P, 4, {.top_p = 0.3, .top_k = 3}));

    // 6. The fused-QKV trap of the seed question, for both weight layouts.
    add("qkv_views.svg", "The fused-QKV trap: split then view, or view then split?",
        "x = [b, s, 3&middot;nh&middot;hd] from weights laid out [W_q | W_k | W_v]. Splitting first and then viewing "
        "as heads picks exactly the queries; viewing as heads first and then splitting silently mixes q, k and v.",
        viz::qkv_views_svg(1, 3, 2, 3));
    add("qkv_views_per_head.svg", "The same trap with weights interleaved per head",
        "With weights laid out [q0 k0 v0 | q1 k1 v1] (Megatron-style) the verdict flips: view as heads first, then "
        "split.",
        viz::qkv_views_svg(1, 3, 2, 3, viz::QkvLayout::per_head));

    write_file(folder / "index.html", index_html(pictures));
    std::printf("  %-28s (open it in a browser)\n", "index.html");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mm_pictures: %s\n", e.what());
    return 1;
  }
}
