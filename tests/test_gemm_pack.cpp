// Packing (gemm/pack.hpp, gemm/pack_portable.hpp) against its definition, bit for bit:
//   A panels: out[ip·kc + p·MR + r] = float(A[i0 + ip + r, p0 + p])   (0 past the last row)
//   B panels: out[jp·kc + p·NR + j] = float(B[p0 + p, j0 + jp + j])   (0 past the last column)
// for every path's panel widths and a few others, every operand layout the engine packs
// (row-major, transposed, strided both ways, gathered rows or k, k made of runs), sizes on
// and off multiples of 4, and float, float16 and bfloat16 (with subnormals, infinities and
// NaNs, which the conversion must carry exactly as core/dtype.hpp does).
#include <catch2/catch.hpp>

#include <tessel/gemm/paths.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace {

using tessel::bfloat16;
using tessel::float16;
using tessel::Isa;
using tessel::detail::Axis;
using tessel::detail::Operand;

template <class T>
std::vector<T> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  std::vector<T> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = tessel::from_float<T>(dist(rng));
    if constexpr (!std::is_same_v<T, float>) {
      // Every 7th value an arbitrary bit pattern: subnormals, infinities, NaNs included.
      if (i % 7 == 3) v[i] = T::from_bits(static_cast<std::uint16_t>(rng()));
    }
  }
  return v;
}

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// One operand layout of a rows × cols matrix (rows: A's m or B's k) over a buffer.
struct Layout {
  std::string name;
  Axis rows, cols;
  std::vector<std::int64_t> row_list, col_list;  // index lists the axes point into
  std::int64_t elements = 0;                     // buffer size
};

// The layouts the engine's operands come in, for a rows × cols matrix.
std::vector<Layout> layouts(std::int64_t rows, std::int64_t cols) {
  std::vector<Layout> out;
  const std::int64_t pad = 3;
  {
    Layout l{"row-major", Axis::strided(cols + pad), Axis::strided(1), {}, {}, 0};
    l.elements = rows * (cols + pad);
    out.push_back(l);
  }
  {
    Layout l{"transposed", Axis::strided(1), Axis::strided(rows + pad), {}, {}, 0};
    l.elements = cols * (rows + pad);
    out.push_back(l);
  }
  {
    Layout l{"strided both ways", Axis::strided(2 * cols + 1), Axis::strided(2), {}, {}, 0};
    l.elements = rows * (2 * cols + 1);
    out.push_back(l);
  }
  {
    // Rows gathered through an index list (reversed, with a repeat), columns contiguous.
    Layout l{"gathered rows", Axis::strided(cols), Axis::strided(1), {}, {}, 0};
    for (std::int64_t r = 0; r < rows; ++r) l.row_list.push_back((rows - 1 - r + (r == 2 ? 1 : 0)) % rows);
    l.elements = rows * cols;
    out.push_back(l);
  }
  {
    // Columns gathered, rows contiguous (A3ᵀ gathered along k).
    Layout l{"gathered columns", Axis::strided(1), Axis::strided(rows + pad), {}, {}, 0};
    for (std::int64_t c = 0; c < cols; ++c) l.col_list.push_back((c * 5 + 1) % cols);
    l.elements = cols * (rows + pad);
    out.push_back(l);
  }
  {
    // Columns made of runs of 3 consecutive elements, 5 apart ([.., c/3, c%3] of a permuted tensor).
    const std::int64_t groups = (cols + 2) / 3;
    Layout l{"columns in runs", Axis::strided(groups * 5 + 1), Axis::of({groups, 3}, {5, 1}), {}, {}, 0};
    l.elements = rows * (groups * 5 + 1);
    out.push_back(l);
  }
  {
    // Rows made of runs, columns strided: the pack walks along the rows' runs.
    const std::int64_t groups = (rows + 3) / 4;
    Layout l{"rows in runs", Axis::of({groups, 4}, {7, 1}), Axis::strided(groups * 7 + 2), {}, {}, 0};
    l.elements = cols * (groups * 7 + 2) + 8;
    out.push_back(l);
  }
  return out;
}

template <class T>
Operand<const T> operand(const std::vector<T>& buf, const Layout& l) {
  Operand<const T> o{buf.data(), Axis::strided(0), l.rows, l.cols};
  if (!l.row_list.empty()) o.rows = o.rows.with_index(l.row_list.data());
  if (!l.col_list.empty()) o.cols = o.cols.with_index(l.col_list.data());
  return o;
}

// Packs A[i0 : i0 + mc, p0 : p0 + kc] (pack_a) or B[p0 : p0 + kc, j0 : j0 + nc] (pack_b) of
// every layout with path I and width W, and compares every float of the panels.
template <Isa I, int W, class T>
void check_packs(std::int64_t extent, std::int64_t kc, std::uint32_t seed) {
  const std::int64_t first = 2, p0 = 1;                             // offsets into the matrix
  const std::int64_t rows = first + extent + 1, depth = p0 + kc + 2;  // A: rows × depth; B: depth × rows
  const std::int64_t panels = (extent + W - 1) / W;
  for (const Layout& la : layouts(rows, depth)) {
    const std::vector<T> buf = random_values<T>(static_cast<std::size_t>(la.elements), seed++);
    const Operand<const T> a = operand(buf, la);
    // pack_a
    std::vector<float> out(static_cast<std::size_t>(panels * W * kc), -7.0f);
    tessel::detail::pack_a<I, W>(a, 0, first, extent, p0, kc, out.data());
    // pack_b of the same values: B = Aᵀ, its columns A's rows.
    std::vector<float> out_b(out.size(), -7.0f);
    tessel::detail::pack_b<I, W>(tessel::detail::transposed(a), 0, p0, kc, first, extent, out_b.data());
    std::int64_t bad = 0, bad_b = 0;
    for (std::int64_t q = 0; q < panels; ++q)
      for (std::int64_t p = 0; p < kc; ++p)
        for (int r = 0; r < W; ++r) {
          const std::int64_t i = q * W + r;
          const float want =
              i < extent ? static_cast<float>(buf[a.rows.offset(first + i) + a.cols.offset(p0 + p)]) : 0.0f;
          const std::size_t at = static_cast<std::size_t>(q * W * kc + p * W + r);
          bad += bits_of(out[at]) != bits_of(want);
          bad_b += bits_of(out_b[at]) != bits_of(want);
        }
    INFO(tessel::isa_name(I) << " width " << W << " " << tessel::dtype_name<T>() << " " << la.name << " extent "
                             << extent << " kc " << kc);
    CHECK(bad == 0);
    CHECK(bad_b == 0);
  }
}

template <Isa I, int W, class T>
void check_widths_sizes() {
  std::uint32_t seed = 11;
  for (std::int64_t extent : {1, 3, W - 1, W, W + 1, 2 * W + 3})
    for (std::int64_t kc : {1, 2, 3, 4, 5, 8, 17, 64})
      if (extent > 0) check_packs<I, W, T>(extent, kc, seed++);
}

// Every path's kernels' panel widths (those that use pack.hpp's format).
template <class T>
void check_every_path() {
  tessel::detail::for_each_kernel_config<T>([&]<class Config>() {
    using K = typename Config::Kernel;
    if constexpr (!K::features.own_panels) {
      check_widths_sizes<K::isa, K::MR, T>();
      check_widths_sizes<K::isa, K::NR, T>();
    }
  });
}

}  // namespace

TEMPLATE_TEST_CASE("pack: panels of every layout match their definition, portable path widths", "[gemm][pack]", float,
                   float16, bfloat16) {
  // The portable path's vector packs take widths that are multiples of 4; others keep the
  // element loops.
  check_widths_sizes<Isa::scalar, 4, TestType>();
  check_widths_sizes<Isa::scalar, 8, TestType>();
  check_widths_sizes<Isa::scalar, 12, TestType>();
  check_widths_sizes<Isa::scalar, 32, TestType>();
  check_widths_sizes<Isa::scalar, 6, TestType>();
}

TEMPLATE_TEST_CASE("pack: panels of every layout match their definition, every path's kernels", "[gemm][pack]", float,
                   float16, bfloat16) {
  check_every_path<TestType>();
}

TEST_CASE("pack: kc at the staging buffers' limit, portable path", "[gemm][pack]") {
  check_packs<Isa::scalar, 4, float16>(9, tessel::detail::kMaxKc, 5);
  check_packs<Isa::scalar, 8, float>(9, tessel::detail::kMaxKc, 6);
}

// A B block packed in pieces of k rows (kernel_contract.hpp: packs_b_in_pieces; the driver
// packs a unit's next k block so, between tiles) is the block pack_b packs, bit for bit, and
// nothing else is written: both buffers start with the same sentinel and are compared whole.
namespace {

template <class T, class PackWhole, class PackPiece>
void check_pieces(std::string_view what, PackWhole pack_whole, PackPiece pack_piece) {
  std::uint32_t seed = 101;
  const std::int64_t j0 = 3, p0 = 2;
  for (std::int64_t nc : {1, 17, 32, 70})
    for (std::int64_t kc : {1, 2, 5, 16, 17, 64, 255})
      for (std::int64_t piece : {2, 4, 6, 64}) {
        const std::int64_t depth = p0 + kc + 1, width = j0 + nc + 2;
        for (const Layout& l : layouts(depth, width)) {
          if (!l.cols.is_unit() || !l.col_list.empty()) continue;  // pieces: B's rows contiguous along n
          const std::vector<T> buf = random_values<T>(static_cast<std::size_t>(l.elements), seed++);
          const Operand<const T> b = operand(buf, l);
          const std::size_t floats = static_cast<std::size_t>((nc + 64) * kc + 64);  // whole panels of any width
          std::vector<float> whole(floats, -7.0f), pieces(floats, -7.0f);
          pack_whole(b, p0, kc, j0, nc, whole.data());
          for (std::int64_t r0 = 0; r0 < kc; r0 += piece)
            pack_piece(b, p0, kc, r0, std::min(kc, r0 + piece), j0, nc, pieces.data());
          std::int64_t bad = 0;
          for (std::size_t i = 0; i < floats; ++i) bad += bits_of(whole[i]) != bits_of(pieces[i]);
          INFO(what << " " << tessel::dtype_name<T>() << " " << l.name << " nc " << nc << " kc " << kc << " piece "
                    << piece);
          CHECK(bad == 0);
        }
      }
}

// pack.hpp's pack_b_piece for path I and width NR.
template <Isa I, int NR, class T>
void check_pack_hpp_pieces(std::string_view what) {
  check_pieces<T>(
      what,
      [](const Operand<const T>& b, std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc, float* out) {
        tessel::detail::pack_b<I, NR>(b, 0, p0, kc, j0, nc, out);
      },
      [](const Operand<const T>& b, std::int64_t p0, std::int64_t kc, std::int64_t r0, std::int64_t r1,
         std::int64_t j0, std::int64_t nc, float* out) {
        tessel::detail::pack_b_piece<I, NR>(b, 0, p0, kc, r0, r1, j0, nc, out);
      });
}

}  // namespace

TEMPLATE_TEST_CASE("pack: a B block packed in pieces of k rows is the block pack_b packs", "[gemm][pack]", float,
                   float16, bfloat16) {
  using T = TestType;
  // pack.hpp's pieces on the portable path (the element loop) for any width.
  check_pack_hpp_pieces<Isa::scalar, 8, T>("portable width 8");
  check_pack_hpp_pieces<Isa::scalar, 6, T>("portable width 6");
  // Every kernel that declares the feature, with its own panels or pack.hpp's.
  int kernels = 0;
  tessel::detail::for_each_kernel_config<T>([&]<class Config>() {
    using K = typename Config::Kernel;
    if constexpr (K::features.packs_b_in_pieces) {
      ++kernels;
      if constexpr (K::features.own_panels) {
        check_pieces<T>(
            "own panels",
            [](const Operand<const T>& b, std::int64_t p0, std::int64_t kc, std::int64_t j0, std::int64_t nc,
               float* out) { K::template pack_b<T>(b, 0, p0, kc, j0, nc, out); },
            [](const Operand<const T>& b, std::int64_t p0, std::int64_t kc, std::int64_t r0, std::int64_t r1,
               std::int64_t j0, std::int64_t nc, float* out) {
              K::template pack_b_piece<T>(b, 0, p0, kc, r0, r1, j0, nc, out);
            });
      } else {
        check_pack_hpp_pieces<K::isa, K::NR, T>(tessel::isa_name(K::isa));
      }
    }
  });
  if (kernels == 0) WARN("no kernel on this CPU packs B in pieces for " << tessel::dtype_name<T>());
}
