// views_explained — the fused-QKV trap, shown with tessel's views.
//
// A fused projection produces x = [b, s, 3*nh*hd]: the query, key and value of every head
// in one row. There are two natural-looking ways to get q as [b, s, nh, hd]:
//   (a) split the row into q | k | v first, then view each part as heads;
//   (b) view the row as heads first, then split each head into q | k | v.
// Both compile, both give the right shape, and they pick different numbers. Which one is
// right depends only on how the weights that produced x were laid out. This program prints
// the shapes and strides at each step and a picture of which elements each order calls q,
// then the usual next step (heads first, then contiguous) and what owns memory along the way.
//
//   g++ -std=c++20 -I include examples/views_explained.cpp -o views_explained
#include <tessel/tessel.hpp>

#include <iostream>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

template <class V>
std::string layout(const V& v) {
  return tessel::detail::shape_string(v.shape()) + " strides " + tessel::detail::shape_string(v.strides());
}

// For row j of x, marks every column of x[0, j, :] with the role ('q', 'k', 'v') and head
// number that the three [1, s, nh, hd] views give it, by comparing element addresses.
template <class V>
void picture(const char* title, const float* row, const V (&parts)[3], std::int64_t width) {
  std::string roles(std::size_t(width), '?'), heads(std::size_t(width), '?');
  const char names[3] = {'q', 'k', 'v'};
  for (int p = 0; p < 3; ++p)
    for (std::int64_t n = 0; n < parts[p].size(2); ++n)
      for (std::int64_t d = 0; d < parts[p].size(3); ++d) {
        const auto col = std::size_t(&parts[p](0, 1, n, d) - row);
        roles[col] = names[p];
        heads[col] = char('0' + n);
      }
  auto spaced = [](const std::string& s) {
    std::string out;
    for (char c : s) (out += c) += ' ';
    out.pop_back();
    return out;
  };
  std::printf("  %-22s %s\n", title, spaced(roles).c_str());
  std::printf("  %-22s %s\n", "  head", spaced(heads).c_str());
}

}  // namespace

int main() {
  const std::int64_t b = 1, s = 2, nh = 2, hd = 3, h = nh * hd;
  // The fused projection's output; value = position. A named Tensor: its views are plain
  // TensorViews (a pointer, sizes and strides) that need x alive, as a std::span needs its vector.
  tessel::Tensor<float, 3> x({b, s, 3 * h});
  x.view(-1).copy_(tessel::arange(double(x.numel())));

  std::printf("The fused-QKV trap: b=%lld, s=%lld, nh=%lld heads of hd=%lld\n", (long long)b, (long long)s,
              (long long)nh, (long long)hd);
  std::printf("x                          %s\n\n", layout(x).c_str());

  std::printf("(a) q, k, v = x.split(nh*hd, -1); q.view(b, s, nh, hd)\n");
  const auto qkv = x.split(h, -1);
  std::printf("    q  = x.split(%lld, -1)[0] %s  contiguous: %s\n", (long long)h, layout(qkv[0]).c_str(),
              qkv[0].is_contiguous() ? "yes" : "no");
  const tessel::TensorView<float, 4> a[3] = {qkv[0].view(b, s, nh, hd), qkv[1].view(b, s, nh, hd),
                                             qkv[2].view(b, s, nh, hd)};
  std::printf("    q.view(b, s, nh, hd)   %s\n", layout(a[0]).c_str());
  std::printf("    (q is a slice, yet view works: each of its rows is one contiguous run)\n\n");

  std::printf("(b) x.view(b, s, nh, 3*hd).split(hd, -1)\n");
  const auto heads = x.view(b, s, nh, 3 * hd);
  std::printf("    x.view(b, s, nh, 3*hd) %s\n", layout(heads).c_str());
  const auto parts = heads.split(hd, -1);
  const tessel::TensorView<float, 4> bq[3] = {parts[0], parts[1], parts[2]};
  std::printf("    .split(hd, -1)[0]      %s\n\n", layout(bq[0]).c_str());

  const std::int64_t w = 3 * h;
  std::printf("Which elements of the row x[0, 1, :] each order calls q, k, v (and which head):\n");
  std::string cols;
  for (std::int64_t c = 0; c < w; ++c) cols += std::to_string(c % 10) + (c + 1 < w ? " " : "");
  std::printf("  %-22s %s\n", "column (mod 10)", cols.c_str());
  picture("(a) split, then view", &x(0, 1, 0), a, w);
  picture("(b) view, then split", &x(0, 1, 0), bq, w);
  std::printf("\n  q of head 1, position 1:  (a) %s   (b) %s\n",
              tessel::detail::shape_string(std::vector<std::int64_t>{(std::int64_t)a[0](0, 1, 1, 0),
                                                                     (std::int64_t)a[0](0, 1, 1, 1),
                                                                     (std::int64_t)a[0](0, 1, 1, 2)})
                  .c_str(),
              tessel::detail::shape_string(std::vector<std::int64_t>{(std::int64_t)bq[0](0, 1, 1, 0),
                                                                     (std::int64_t)bq[0](0, 1, 1, 1),
                                                                     (std::int64_t)bq[0](0, 1, 1, 2)})
                  .c_str());

  std::printf("\nWhich one is right?\n");
  std::printf("  * Weights concatenated as [W_q | W_k | W_v] (one block per role, heads inside each;\n");
  std::printf("    e.g. GPT-2's c_attn): the row is [q | k | v], so use (a): split, then view.\n");
  std::printf("  * Weights interleaved per head, [q0 k0 v0 | q1 k1 v1 | ...] (Megatron-style):\n");
  std::printf("    use (b): view into heads, then split.\n");
  std::printf("  The wrong order raises no error: it silently mixes heads and roles.\n");

  std::printf("\nA view that strides cannot express throws instead of guessing:\n");
  try {
    (void)a[0].transpose(1, 2).view(b, nh * s * hd);
  } catch (const tessel::shape_error& e) {
    std::printf("  %s\n", e.what());
  }
  const auto r = a[0].transpose(1, 2).reshape(b, nh * s * hd);
  std::printf("  reshape() copies instead: owns_memory() = %s\n", r.owns_memory() ? "true" : "false");

  // The usual next step, written as in PyTorch: heads first, contiguous, as [b, nh, s, hd].
  // contiguous() copies here, and the result owns that copy, so q stays valid after the statement
  // (and so does every view of q, or any piece of a split of it).
  std::printf("\nq = x.view(b, s, 3, nh, hd).select(2, 0).transpose(1, 2).contiguous()\n");
  auto q = x.view(b, s, 3, nh, hd).select(2, 0).transpose(1, 2).contiguous();
  std::printf("    q                      %s  owns_memory: %s\n", layout(q).c_str(), q.owns_memory() ? "yes" : "no");
  std::cout << q.view(b, nh, -1) << "\n";
  return 0;
}
