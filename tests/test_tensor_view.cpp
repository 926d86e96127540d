// Tests of TensorView's shape operations (SPEC §6) against the index-arithmetic model in
// tests/support/view_reference.hpp: for random shapes (fixed seeds) on contiguous,
// permuted, sliced, selected and expanded inputs, including zero-size dimensions, every
// element of every result must sit at the address PyTorch's definition gives.
#include <catch2/catch.hpp>

#include <tessel/core/tensor.hpp>
#include <tessel/core/tensor_view.hpp>

#include "support/view_reference.hpp"

#include <array>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

using tessel::Shape;
using tessel::shape_error;
using tessel::TensorView;
using namespace tessel_test;

namespace {

constexpr std::size_t kBuffer = 8192;

// A buffer whose element i holds the value i: values identify positions.
std::vector<float>& buffer() {
  static std::vector<float> b = [] {
    std::vector<float> v(kBuffer);
    std::iota(v.begin(), v.end(), 0.0f);
    return v;
  }();
  return b;
}
float* mutable_buffer() { return buffer().data(); }  // never written: the copy_ tests use their own buffers

std::int64_t rand_int(std::mt19937& rng, std::int64_t lo, std::int64_t hi) {  // inclusive
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

Index random_shape(std::mt19937& rng, std::size_t rank, std::int64_t max_dim = 4) {
  Index s(rank);
  for (auto& d : s) d = rng() % 12 == 0 ? 0 : rand_int(rng, 1, max_dim);
  return s;
}

Index random_perm(std::mt19937& rng, std::size_t rank) {
  Index p(rank);
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

// Sometimes spells a dimension negatively (PyTorch counts those from the end).
std::int64_t maybe_negative(std::mt19937& rng, std::int64_t dim, std::size_t rank) {
  return rng() % 2 ? dim - static_cast<std::int64_t>(rank) : dim;
}

template <class T, std::size_t R>
auto permute(const TensorView<T, R>& v, const Index& p) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) { return v.permute(p[I]...); }(std::make_index_sequence<R>{});
}

std::string describe(const std::string& kind, const Index& shape, const Index& strides) {
  return kind + " shape " + str(shape) + " strides " + str(strides);
}

template <std::size_t R>
struct Input {
  TensorView<float, R> v;
  Ref ref;
  std::string desc;
};

// Random inputs of five kinds: contiguous, permuted, sliced (narrow on every dimension,
// sometimes permuted after), selected out of a rank R+1 tensor, and expanded.
template <std::size_t R>
Input<R> make_input(std::mt19937& rng, int kind) {
  float* buf = mutable_buffer();
  Input<R> in;
  std::string name;
  switch (kind) {
    case 0: {
      const Index s = random_shape(rng, R);
      in.v = TensorView<float, R>(buf, to_array<R>(s));
      in.ref = ref_contiguous(s);
      name = "contiguous";
      break;
    }
    case 1: {
      const Index s = random_shape(rng, R);
      const Index p = random_perm(rng, R);
      in.v = permute(TensorView<float, R>(buf, to_array<R>(s)), p);
      in.ref = ref_permute(ref_contiguous(s), p);
      name = "permuted " + str(p);
      break;
    }
    case 2: {
      Index base = random_shape(rng, R, 6);
      TensorView<float, R> v(buf, to_array<R>(base));
      Ref ref = ref_contiguous(base);
      for (std::size_t d = 0; d < R; ++d) {
        const std::int64_t start = rand_int(rng, 0, base[d]);
        const std::int64_t len = rand_int(rng, 0, base[d] - start);
        if (len == 0 && rng() % 3 != 0) continue;  // keep empty slices a minority
        v = v.narrow(std::int64_t(d), start, len);
        ref = ref_narrow(ref, std::int64_t(d), start, len);
      }
      name = "sliced from " + str(base);
      if (rng() % 2) {
        const Index p = random_perm(rng, R);
        v = permute(v, p);
        ref = ref_permute(ref, p);
        name += " then permuted " + str(p);
      }
      in.v = v;
      in.ref = ref;
      break;
    }
    case 3: {
      const Index base = random_shape(rng, R + 1);
      const auto d = std::int64_t(rng() % (R + 1));
      if (base[std::size_t(d)] == 0) return make_input<R>(rng, 0);
      const std::int64_t i = rand_int(rng, 0, base[std::size_t(d)] - 1);
      in.v = TensorView<float, R + 1>(buf, to_array<R + 1>(base)).select(d, i);
      in.ref = ref_select(ref_contiguous(base), d, i);
      name = "select(" + std::to_string(d) + ", " + std::to_string(i) + ") of " + str(base);
      break;
    }
    default: {
      const Index target = random_shape(rng, R);
      Index src = target;
      for (auto& s : src)
        if (rng() % 3 == 0) s = 1;
      TensorView<float, R> v(buf, to_array<R>(src));
      Ref ref = ref_contiguous(src);
      in.v = v.expand(to_array<R>(target));
      in.ref = ref_expand(ref, target);
      name = "expanded " + str(src) + " -> " + str(target);
      break;
    }
  }
  in.desc = describe(name, to_index(in.v.shape()), to_index(in.v.strides()));
  return in;
}

struct ViewCounts {
  int viewed = 0, refused = 0, invalid = 0, copied = 0, reshaped_as_view = 0;
};

// A target shape of rank N for n elements: either a random factorisation of n, or the
// input's own shape with adjacent dimensions merged / split (which is what makes views of
// non-contiguous inputs possible), sometimes with a -1, sometimes made invalid.
template <std::size_t N>
Index target_shape(std::mt19937& rng, const Index& from) {
  const std::int64_t n = numel(from);
  Index t;
  if (rng() % 2 == 0) {
    t.assign(N, 1);
    if (n == 0) {
      for (auto& d : t) d = rand_int(rng, 0, 3);
      t[rng() % N] = 0;
    } else {
      std::int64_t m = n;
      for (std::int64_t p = 2; m > 1; ++p)
        while (m % p == 0) {
          t[rng() % N] *= p;
          m /= p;
        }
    }
  } else {
    t = from;
    while (t.size() > N) {  // merge a random adjacent pair
      const std::size_t i = rng() % (t.size() - 1);
      t[i] *= t[i + 1];
      t.erase(t.begin() + std::ptrdiff_t(i) + 1);
    }
    while (t.size() < N) {  // split a random dimension into two factors (or insert a 1)
      const std::size_t i = rng() % t.size();
      std::int64_t f = 1;
      for (std::int64_t c = 2; c <= t[i]; ++c)
        if (t[i] % c == 0 && rng() % 2) {
          f = c;
          break;
        }
      const std::int64_t rest = f == 1 ? t[i] : t[i] / f;
      t[i] = f;
      t.insert(t.begin() + std::ptrdiff_t(i) + 1, rest);
      if (rng() % 2) std::swap(t[i], t[i + 1]);
    }
  }
  const auto r = rng() % 10;
  if (r < 3) t[rng() % N] = -1;
  else if (r == 3) t[rng() % N] += 1;  // almost always the wrong number of elements
  else if (r == 4 && N >= 2) t[0] = t[1] = -1;
  return t;
}

template <std::size_t R, std::size_t N>
void check_view_and_reshape(std::mt19937& rng, const Input<R>& in, ViewCounts& counts) {
  const Index t = target_shape<N>(rng, in.ref.shape);
  const auto resolved = ref_infer(t, numel(in.ref.shape));
  const bool possible = resolved && ref_view_possible(in.ref, *resolved);
  INFO(in.desc << " .view(" << str(t) << ")");
  bool threw = false;
  try {
    const TensorView<float, N> w = in.v.view(to_array<N>(t));
    matches(w, buffer().data(), ref_view(in.ref, *resolved), "view");
  } catch (const shape_error&) {
    threw = true;
  }
  CHECK(threw == !possible);
  if (!resolved) {
    ++counts.invalid;
  } else if (possible) {
    ++counts.viewed;
  } else {
    ++counts.refused;
  }

  // reshape: a view exactly when view() works, otherwise an owned contiguous copy.
  if (!resolved) {
    CHECK_THROWS_AS(in.v.reshape(to_array<N>(t)), shape_error);
    return;
  }
  const auto r = in.v.reshape(to_array<N>(t));
  CHECK(r.owns_memory() == !possible);
  if (r.owns_memory()) {
    ++counts.copied;
    CHECK(r.is_contiguous());
    matches_values(r.view(), buffer().data(), ref_view(in.ref, *resolved), "reshape (copy)");
  } else {
    ++counts.reshaped_as_view;
    matches(r.view(), buffer().data(), ref_view(in.ref, *resolved), "reshape (view)");
  }
}

// Every shape operation once, with random arguments, on one input.
template <std::size_t R>
void exercise(std::mt19937& rng, const Input<R>& in, ViewCounts& counts) {
  const float* base = buffer().data();
  const auto& v = in.v;
  const Ref& ref = in.ref;
  const Index& shape = ref.shape;
  INFO(in.desc);
  REQUIRE(matches(v, base, ref, "input"));
  CHECK(v.numel() == numel(shape));
  CHECK(v.is_contiguous() == ref_is_contiguous(ref));
  for (std::size_t d = 0; d < R; ++d) {
    CHECK(v.size(std::int64_t(d)) == shape[d]);
    CHECK(v.size(std::int64_t(d) - std::int64_t(R)) == shape[d]);
    CHECK(v.stride(std::int64_t(d) - std::int64_t(R)) == v.strides()[d]);
  }

  {  // permute, with negative dimensions
    Index p = random_perm(rng, R);
    const Ref want = ref_permute(ref, p);
    for (auto& d : p) d = maybe_negative(rng, d, R);
    matches(permute(v, p), base, want, "permute " + str(p));
  }
  {  // transpose
    const auto a = std::int64_t(rng() % R), b = std::int64_t(rng() % R);
    const auto na = maybe_negative(rng, a, R), nb = maybe_negative(rng, b, R);
    matches(v.transpose(na, nb), base, ref_transpose(ref, a, b),
            "transpose(" + std::to_string(na) + ", " + std::to_string(nb) + ")");
  }
  {  // narrow, negative dim and negative start
    const auto d = std::int64_t(rng() % R);
    const std::int64_t size = shape[std::size_t(d)];
    const std::int64_t start = rand_int(rng, 0, size);
    const std::int64_t len = rand_int(rng, 0, size - start);
    const std::int64_t s_arg = (start < size && rng() % 2) ? start - size : start;
    matches(v.narrow(maybe_negative(rng, d, R), s_arg, len), base, ref_narrow(ref, d, start, len),
            "narrow(" + std::to_string(d) + ", " + std::to_string(s_arg) + ", " + std::to_string(len) + ")");
  }
  {  // select
    const auto d = std::int64_t(rng() % R);
    const std::int64_t size = shape[std::size_t(d)];
    if (size > 0) {
      const std::int64_t i = rand_int(rng, 0, size - 1);
      const std::int64_t i_arg = rng() % 2 ? i - size : i;
      matches(v.select(maybe_negative(rng, d, R), i_arg), base, ref_select(ref, d, i),
              "select(" + std::to_string(d) + ", " + std::to_string(i_arg) + ")");
    }
    CHECK_THROWS_AS(v.select(d, size), shape_error);
    CHECK_THROWS_AS(v.select(d, -size - 1), shape_error);
  }
  {  // split by size and by list, chunk
    const auto d = std::int64_t(rng() % R);
    const std::int64_t size = shape[std::size_t(d)];
    const auto nd = maybe_negative(rng, d, R);
    const std::int64_t split_size = rand_int(rng, 1, size + 1);
    const auto pieces = v.split(split_size, nd);
    const Index sizes = ref_split_sizes(size, split_size);
    REQUIRE(pieces.size() == sizes.size());
    std::int64_t start = 0;
    for (std::size_t k = 0; k < pieces.size(); ++k) {
      matches(pieces[k], base, ref_narrow(ref, d, start, sizes[k]), "split(" + std::to_string(split_size) + ") piece");
      start += sizes[k];
    }
    Index list;  // a random composition of size into 1..4 parts, zeros allowed
    std::int64_t left = size;
    for (std::int64_t k = rand_int(rng, 1, 4); k > 1; --k) {
      list.push_back(rand_int(rng, 0, left));
      left -= list.back();
    }
    list.push_back(left);
    const auto by_list = v.split(list, nd);
    REQUIRE(by_list.size() == list.size());
    start = 0;
    for (std::size_t k = 0; k < list.size(); ++k) {
      matches(by_list[k], base, ref_narrow(ref, d, start, list[k]), "split(" + str(list) + ") piece");
      start += list[k];
    }
    const std::int64_t chunks = rand_int(rng, 1, 5);
    const auto ch = v.chunk(chunks, nd);
    const Index chunk_sizes = ref_chunk_sizes(size, chunks);
    REQUIRE(ch.size() == chunk_sizes.size());
    start = 0;
    for (std::size_t k = 0; k < ch.size(); ++k) {
      matches(ch[k], base, ref_narrow(ref, d, start, chunk_sizes[k]), "chunk(" + std::to_string(chunks) + ") piece");
      start += chunk_sizes[k];
    }
  }
  {  // unsqueeze, every position
    for (std::int64_t d = -std::int64_t(R) - 1; d <= std::int64_t(R); ++d)
      matches(v.unsqueeze(d), base, ref_unsqueeze(ref, d), "unsqueeze(" + std::to_string(d) + ")");
  }
  {  // expand: a new leading dimension, size-1 dimensions broadcast, -1 keeps
    Index sizes(R + 1);
    sizes[0] = rand_int(rng, 0, 3);
    for (std::size_t d = 0; d < R; ++d) {
      if (shape[d] == 1) sizes[d + 1] = rng() % 3 == 0 ? -1 : rand_int(rng, 0, 3);
      else sizes[d + 1] = rng() % 2 ? -1 : shape[d];
    }
    const auto e = v.expand(to_array<R + 1>(sizes));
    matches(e, base, ref_expand(ref, sizes), "expand(" + str(sizes) + ")");
    for (std::size_t d = 0; d < R; ++d)
      if (shape[d] == 1 && sizes[d + 1] != -1 && sizes[d + 1] != 1) CHECK(e.strides()[d + 1] == 0);
    // A new leading dimension is broadcast (stride 0) unless it stays 1; then PyTorch gives it
    // the stride a dense layout would (size * stride of the next dimension).
    CHECK(e.strides()[0] == (sizes[0] == 1 ? e.shape()[1] * e.strides()[1] : 0));
    const auto same = v.expand(to_array<R>(Index(R, -1)));
    matches(same, base, ref, "expand(-1, ...)");
  }
  {  // contiguous and clone
    const auto c = v.contiguous();
    CHECK(c.is_contiguous());
    CHECK(c.owns_memory() == !ref_is_contiguous(ref));
    if (c.owns_memory()) matches_values(c.view(), base, ref, "contiguous (copy)");
    else matches(c.view(), base, ref, "contiguous (same memory)");
    const auto k = v.clone();
    CHECK((k.numel() == 0 || k.data() < base || k.data() >= base + kBuffer));
    matches_values(k.view(), base, ref, "clone");
    CHECK(k.view().is_contiguous());
  }
  [&]<std::size_t... N>(std::index_sequence<N...>) {
    (check_view_and_reshape<R, N + 1>(rng, in, counts), ...);
  }(std::make_index_sequence<4>{});
}

template <std::size_t R>
void run_random(std::uint32_t seed, int cases, ViewCounts& counts) {
  std::mt19937 rng(seed);
  for (int i = 0; i < cases; ++i) {
    const Input<R> in = make_input<R>(rng, i % 5);
    exercise(rng, in, counts);
  }
}

}  // namespace

TEST_CASE("views: every operation on random inputs matches the index reference", "[view]") {
  ViewCounts counts;
  run_random<1>(101, 300, counts);
  run_random<2>(102, 400, counts);
  run_random<3>(103, 400, counts);
  run_random<4>(104, 300, counts);
  INFO("view: " << counts.viewed << " viewed, " << counts.refused << " refused, " << counts.invalid
                << " invalid shapes; reshape: " << counts.reshaped_as_view << " views, " << counts.copied << " copies");
  // The random cases must exercise both sides of the view rule.
  CHECK(counts.viewed > 500);
  CHECK(counts.refused > 100);
  CHECK(counts.invalid > 100);
  CHECK(counts.copied > 100);
}

TEST_CASE("views: view succeeds exactly when PyTorch's would (brute force, small shapes)", "[view]") {
  // Many small layouts made of permutes, slices and expands, against every target shape
  // of rank 1..3 whose sizes multiply to the element count.
  std::mt19937 rng(7);
  ViewCounts counts;
  for (int i = 0; i < 600; ++i) {
    const Input<3> in = make_input<3>(rng, 1 + i % 4);
    const std::int64_t n = numel(in.ref.shape);
    if (n == 0 || n > 64) continue;
    std::vector<Index> targets;
    for (std::int64_t a = 1; a <= n; ++a)
      if (n % a == 0) {
        targets.push_back({a, n / a});
        for (std::int64_t b = 1; b <= n / a; ++b)
          if ((n / a) % b == 0) targets.push_back({a, b, n / a / b});
      }
    for (const Index& t : targets) {
      const bool possible = ref_view_possible(in.ref, t);
      bool threw = false;
      try {
        if (t.size() == 2) matches(in.v.view(to_array<2>(t)), buffer().data(), ref_view(in.ref, t), in.desc);
        else matches(in.v.view(to_array<3>(t)), buffer().data(), ref_view(in.ref, t), in.desc);
      } catch (const shape_error&) {
        threw = true;
      }
      INFO(in.desc << " .view(" << str(t) << ")");
      CHECK(threw == !possible);
      ++(possible ? counts.viewed : counts.refused);
    }
    const bool flat = ref_view_possible(in.ref, {n});
    bool threw = false;
    try {
      (void)in.v.view(-1);
    } catch (const shape_error&) {
      threw = true;
    }
    CHECK(threw == !flat);
  }
  CHECK(counts.viewed > 1000);
  CHECK(counts.refused > 1000);
}

TEST_CASE("views: hand-checked cases", "[view]") {
  float* buf = mutable_buffer();
  const TensorView<float, 3> x(buf, {2, 3, 4});
  CHECK(x.strides() == Shape<3>{12, 4, 1});
  CHECK(x(1, 2, 3) == 23.0f);
  CHECK(&x.at(1, 0, 2) == buf + 14);

  const auto v = x.view(4, -1);
  CHECK(v.shape() == Shape<2>{4, 6});
  CHECK(v(3, 5) == 23.0f);
  CHECK(x.view(-1).shape() == Shape<1>{24});

  const auto t = x.transpose(0, -1);  // [4, 3, 2], strides [1, 4, 12]
  CHECK(t.strides() == Shape<3>{1, 4, 12});
  CHECK_FALSE(t.is_contiguous());
  CHECK_THROWS_AS(t.view(-1), shape_error);
  const auto r = t.reshape(-1);
  CHECK(r.owns_memory());
  CHECK(r(1) == 12.0f);  // t flattened: t[0,0,0]=0, t[0,0,1]=x[1,0,0]=12
  CHECK(t.view(4, 3, 2, 1).shape() == Shape<4>{4, 3, 2, 1});

  // A permuted tensor whose dims stay grouped can be viewed: x.permute(1, 2, 0) is [3, 4, 2],
  // and its first two dims merge to [12, 2] (strides [1, 12]).
  const auto p = x.permute(1, 2, 0);
  const auto pv = p.view(12, 2);
  CHECK(pv.strides() == Shape<2>{1, 12});
  CHECK(pv(5, 1) == 17.0f);

  // expand: stride 0, -1 keeps.
  const TensorView<float, 2> col(buf, {3, 1});
  const auto e = col.expand(2, -1, 5);
  CHECK(e.shape() == Shape<3>{2, 3, 5});
  CHECK(e.strides() == Shape<3>{0, 1, 0});
  CHECK(e(1, 2, 4) == 2.0f);

  // chunk sizes as in PyTorch: 5 in 3 chunks -> 2, 2, 1; 6 in 4 chunks -> 2, 2, 2 (3 pieces);
  // an empty dimension in 3 chunks -> 3 empty pieces; split of an empty dimension -> 1 piece.
  const TensorView<float, 1> five(buf, {5}), six(buf, {6}), none(buf, {0});
  auto sizes = [](const auto& pieces) {
    Index s;
    for (const auto& q : pieces) s.push_back(q.size(0));
    return s;
  };
  CHECK(sizes(five.chunk(3)) == Index{2, 2, 1});
  CHECK(sizes(six.chunk(4)) == Index{2, 2, 2});
  CHECK(sizes(none.chunk(3)) == Index{0, 0, 0});
  CHECK(sizes(none.split(2)) == Index{0});
  CHECK(sizes(five.split(2)) == Index{2, 2, 1});
  CHECK(sizes(five.split(Index{1, 0, 4})) == Index{1, 0, 4});

  // Zero-size dimensions.
  const TensorView<float, 3> z(buf, {2, 0, 3});
  CHECK(z.numel() == 0);
  CHECK(z.is_contiguous());
  CHECK(z.view(0, 6).shape() == Shape<2>{0, 6});
  CHECK(z.view(3, -1, 2).shape() == Shape<3>{3, 0, 2});
  CHECK_THROWS_AS(z.view(-1, 0), shape_error);  // -1 cannot be inferred next to a 0
  CHECK(z.permute(2, 0, 1).reshape(6, 0).owns_memory() == false);
  CHECK(z.clone().numel() == 0);
}

TEST_CASE("views: errors name the shapes", "[view][errors]") {
  float* buf = mutable_buffer();
  const TensorView<float, 3> x(buf, {2, 3, 4});
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const shape_error& e) {
      return e.what();
    }
    return "(no exception)";
  };
  using Catch::Matchers::Contains;
  CHECK_THAT(message([&] { (void)x.view(5, 5); }), Contains("[2, 3, 4]") && Contains("[5, 5]"));
  CHECK_THAT(message([&] { (void)x.view(-1, -1); }), Contains("[-1, -1]"));
  CHECK_THAT(message([&] { (void)x.view(7, -1); }), Contains("[2, 3, 4]") && Contains("[7, -1]"));
  const auto t = x.transpose(1, 2);
  CHECK_THAT(message([&] { (void)t.view(2, 12); }),
             Contains("[2, 4, 3]") && Contains("[12, 1, 4]") && Contains("[2, 12]") && Contains("view"));
  CHECK_THAT(message([&] { (void)x.permute(0, 0, 1); }), Contains("permute"));
  CHECK_THAT(message([&] { (void)x.permute(0, 1, 3); }), Contains("permute") && Contains("3"));
  CHECK_THAT(message([&] { (void)x.transpose(0, -4); }), Contains("-4"));
  CHECK_THAT(message([&] { (void)x.narrow(1, 2, 2); }), Contains("[2, 3, 4]") && Contains("narrow"));
  CHECK_THAT(message([&] { (void)x.narrow(1, -4, 1); }), Contains("[2, 3, 4]"));
  CHECK_THAT(message([&] { (void)x.select(2, 4); }), Contains("[2, 3, 4]") && Contains("select"));
  CHECK_THAT(message([&] { (void)x.split(Index{1, 1}, 1); }), Contains("[2, 3, 4]") && Contains("[1, 1]"));
  CHECK_THAT(message([&] { (void)x.split(0, 1); }), Contains("split"));
  CHECK_THAT(message([&] { (void)x.chunk(0, 1); }), Contains("chunk"));
  CHECK_THAT(message([&] { (void)x.unsqueeze(4); }), Contains("unsqueeze"));
  CHECK_NOTHROW(x.unsqueeze(3));
  CHECK_NOTHROW(x.unsqueeze(-4));
  CHECK_THAT(message([&] { (void)x.unsqueeze(-5); }), Contains("-5"));
  CHECK_THAT(message([&] { (void)x.expand(2, 5, 4); }), Contains("[2, 3, 4]") && Contains("[2, 5, 4]"));
  CHECK_THAT(message([&] { (void)x.expand(-1, 2, 3, 4); }), Contains("expand"));
  CHECK_THAT(message([&] { (void)x.size(3); }), Contains("3"));
  CHECK_THAT(message([&] { (void)TensorView<float, 2>(buf, {2, -3}); }), Contains("-3"));
  CHECK_THAT(message([&] { (void)TensorView<float, 2>(buf, {2, 3}, {-1, 1}); }), Contains("-1"));
}

// The PyTorch question this library exists for: splitting a fused QKV projection.
TEST_CASE("views: the fused-QKV trap, both orders against PyTorch's formulas", "[view]") {
  const std::int64_t b = 2, s = 3, nh = 4, hd = 5, h = nh * hd;
  std::vector<float> data(std::size_t(b * s * 3 * h));
  std::iota(data.begin(), data.end(), 0.0f);  // distinct values: value == flat position
  const TensorView<float, 3> x(data.data(), {b, s, 3 * h});

  // (a) q, k, v = x.split(nh*hd, -1), then q.view(b, s, nh, hd). q is a non-contiguous slice
  //     (row stride 3h), but its last dimension is one contiguous run, so the view exists.
  const auto parts = x.split(h, -1);
  REQUIRE(parts.size() == 3);
  const auto& q = parts[0];
  CHECK_FALSE(q.is_contiguous());
  const auto q4 = q.view(b, s, nh, hd);
  CHECK(q4.strides() == Shape<4>{s * 3 * h, 3 * h, hd, 1});
  // (b) x.view(b, s, nh, 3*hd) then split(hd, -1): the per-head-interleaved reading.
  const auto q2 = x.view(b, s, nh, 3 * hd).split(hd, -1)[0];
  CHECK(q2.shape() == Shape<4>{b, s, nh, hd});

  std::int64_t differ = 0;
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t d = 0; d < hd; ++d) {
          const float xa = data[std::size_t((i * s + j) * 3 * h + n * hd + d)];      // x[i, j, n*hd + d]
          const float xb = data[std::size_t((i * s + j) * 3 * h + n * 3 * hd + d)];  // x[i, j, n*3*hd + d]
          REQUIRE(q4(i, j, n, d) == xa);
          REQUIRE(q2(i, j, n, d) == xb);
          differ += q4(i, j, n, d) != q2(i, j, n, d);
          // k and v of (a): the next blocks of h.
          REQUIRE(parts[1].view(b, s, nh, hd)(i, j, n, d) == data[std::size_t((i * s + j) * 3 * h + h + n * hd + d)]);
          REQUIRE(parts[2].view(b, s, nh, hd)(i, j, n, d) ==
                  data[std::size_t((i * s + j) * 3 * h + 2 * h + n * hd + d)]);
        }
  // Only head 0 coincides.
  CHECK(differ == b * s * (nh - 1) * hd);
}

TEST_CASE("views: copy_ between layouts, with broadcasting and dtype conversion", "[view][copy]") {
  std::mt19937 rng(11);
  for (int iter = 0; iter < 200; ++iter) {
    // Destination: a permuted or sliced view into a buffer with a sentinel everywhere else.
    const Index full = random_shape(rng, 3, 5);
    std::vector<float> dst_buf(std::size_t(numel(full)) + 1, -1.0f);
    TensorView<float, 3> dst(dst_buf.data(), to_array<3>(full));
    Ref dref = ref_contiguous(full);
    for (std::size_t d = 0; d < 3; ++d) {
      const std::int64_t start = rand_int(rng, 0, full[d]);
      const std::int64_t len = rand_int(rng, full[d] == 0 ? 0 : std::min<std::int64_t>(1, full[d] - start),
                                        full[d] - start);
      dst = dst.narrow(std::int64_t(d), start, len);
      dref = ref_narrow(dref, std::int64_t(d), start, len);
    }
    const Index p = random_perm(rng, 3);
    dst = permute(dst, p);
    dref = ref_permute(dref, p);
    const Index ds = dref.shape;

    // Source: same shape with some dims 1 (broadcast), sometimes one rank lower, in a
    // transposed layout, as float or float16.
    Index ss = ds;
    for (auto& v : ss)
      if (rng() % 3 == 0) v = 1;
    const bool lower = rng() % 2;
    std::vector<float> src_buf(std::size_t(std::max<std::int64_t>(numel(ss), 1)));
    for (auto& v : src_buf) v = float(rand_int(rng, -1000, 1000)) / 8.0f + 1.0f / 3.0f;
    // The source is stored transposed: element [i,j,k] at the contiguous position of [k,j,i].
    const Index st = {ss[2], ss[1], ss[0]};
    const TensorView<float, 3> src = TensorView<float, 3>(src_buf.data(), to_array<3>(st)).permute(2, 1, 0);
    const Ref sref = ref_permute(ref_contiguous(st), {2, 1, 0});

    auto expected = [&](const Index& idx) {  // broadcast: size-1 source dims read index 0
      Index j = idx;
      for (std::size_t d = 0; d < 3; ++d)
        if (ss[d] == 1) j[d] = 0;
      return src_buf[std::size_t(sref.offset(j))];
    };
    INFO("dst " << str(ds) << " strides " << str(to_index(dst.strides())) << " src " << str(ss));
    if (lower && ss[0] == 1) {
      dst.copy_(src.select(0, 0));  // rank 2 source broadcast over dim 0
    } else {
      dst.copy_(src);
    }
    std::vector<bool> written(dst_buf.size(), false);
    for_each_index(ds, [&](const Index& idx) {
      written[std::size_t(dref.offset(idx))] = true;
      REQUIRE(dst_buf[std::size_t(dref.offset(idx))] == expected(idx));
    });
    for (std::size_t i = 0; i < dst_buf.size(); ++i)
      if (!written[i]) REQUIRE(dst_buf[i] == -1.0f);  // nothing outside the view is touched

    // Dtype conversion: float -> bfloat16 and float16 (one rounding each), bfloat16 -> float.
    std::vector<tessel::bfloat16> bf(std::size_t(numel(ds)));
    std::vector<tessel::float16> hf(std::size_t(numel(ds)));
    const TensorView<tessel::bfloat16, 3> bv(bf.data(), to_array<3>(ds));
    const TensorView<tessel::float16, 3> hv(hf.data(), to_array<3>(ds));
    bv.copy_(src);
    hv.copy_(TensorView<const float, 3>(src));
    std::vector<float> back(std::size_t(numel(ds)));
    TensorView<float, 3>(back.data(), to_array<3>(ds)).transpose(0, 0).copy_(bv);
    for_each_index(ds, [&](const Index& idx) {
      const auto flat = std::size_t(ravel(idx, ds));
      REQUIRE(bf[flat].bits == tessel::bfloat16(expected(idx)).bits);
      REQUIRE(hf[flat].bits == tessel::float16(expected(idx)).bits);
      REQUIRE(back[flat] == static_cast<float>(tessel::bfloat16(expected(idx))));
    });
  }
}

TEST_CASE("views: copy_ with overlapping source and invalid destinations", "[view][copy]") {
  std::vector<float> a(10);
  std::iota(a.begin(), a.end(), 0.0f);
  const TensorView<float, 1> all(a.data(), {10});
  all.narrow(0, 1, 9).copy_(all.narrow(0, 0, 9));  // shift right by one, overlapping
  for (int i = 1; i < 10; ++i) CHECK(a[std::size_t(i)] == float(i - 1));
  CHECK(a[0] == 0.0f);

  const TensorView<float, 2> m(a.data(), {2, 5});
  const TensorView<float, 2> row(a.data(), {1, 5});
  CHECK_THROWS_AS(row.expand(3, 5).copy_(m), shape_error);  // destination elements share memory
  CHECK_THROWS_AS((m.copy_(TensorView<float, 2>(a.data(), {3, 5}))), shape_error);  // not broadcastable
  std::vector<float> c(6);
  CHECK_THROWS_AS((TensorView<float, 2>(c.data(), {2, 3}).copy_(m)), shape_error);

  // In-place transpose of a square matrix through copy_ (the source overlaps completely).
  std::vector<float> sq(9);
  std::iota(sq.begin(), sq.end(), 0.0f);
  const TensorView<float, 2> s(sq.data(), {3, 3});
  s.copy_(s.transpose(0, 1));
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) CHECK(s(i, j) == float(j * 3 + i));
}
