// Tests of SPEC §8: Tensors used like torch.Tensor, and views that keep their memory alive.
//
// * The PyTorch idioms a user ports line by line, each stored in `auto` and read after other
//   tensors were allocated and freed (filled with NaN), so a view whose memory died reads NaN in
//   the default suite and trips AddressSanitizer in the asan-ubsan preset.
// * What is a plain view and what owns memory, checked on the types (static_assert) and on the
//   allocator's counters.
// * The forms that would dangle do not compile (checked with requires-expressions and
//   std::is_convertible), and the deduced forms of tessel's functions accept every object.
#include <catch2/catch.hpp>

#include <tessel/tessel.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

using tessel::bfloat16;
using tessel::float16;
using tessel::MaybeOwnedView;
using tessel::Shape;
using tessel::shape_error;
using tessel::Tensor;
using tessel::TensorView;

namespace {

// Allocates and frees tensors and vectors of many sizes, every element NaN: memory a view failed
// to keep alive is handed out again and overwritten.
void churn() {
  for (int round = 0; round < 4; ++round) {
    std::vector<Tensor<float, 1>> tensors;
    std::vector<std::vector<float>> vectors;
    for (std::int64_t n : {1, 7, 24, 60, 96, 120, 256, 1000, 4096}) {
      tensors.emplace_back(Shape<1>{n}).fill_(std::numeric_limits<float>::quiet_NaN());
      vectors.emplace_back(std::size_t(n), std::numeric_limits<float>::quiet_NaN());
    }
  }
}

// x[i, j, k, l] = 1000 i + 100 j + 10 k + l: every value names its position.
Tensor<float, 4> positional(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) {
  Tensor<float, 4> x({a, b, c, d});
  for (std::int64_t i = 0; i < a; ++i)
    for (std::int64_t j = 0; j < b; ++j)
      for (std::int64_t k = 0; k < c; ++k)
        for (std::int64_t l = 0; l < d; ++l) x(i, j, k, l) = float(1000 * i + 100 * j + 10 * k + l);
  return x;
}

template <class X>
concept can_transpose = requires(X&& x) { std::forward<X>(x).transpose(0, 1); };
template <class X>
concept can_view_flat = requires(X&& x) { std::forward<X>(x).view(-1); };
template <class X>
concept can_contiguous = requires(X&& x) { std::forward<X>(x).contiguous(); };
template <class X>
concept can_split = requires(X&& x) { std::forward<X>(x).split(1, 0); };
template <class X>
concept can_make_view = requires(X&& x) { std::forward<X>(x).view(); };

// The exact line of the issue, as an expression on a named x: it must not give a plain view.
template <class X>
concept issue_line_compiles = requires(X& x) {
  TensorView<float, 2>{x.view().transpose(0, 1).contiguous().view().view(3, 8)};
};
template <class X>
concept issue_line_copy_init_compiles = requires(X& x, void (*sink)(TensorView<float, 2>)) {
  sink(x.view().transpose(0, 1).contiguous().view(3, 8));
};

}  // namespace

TEST_CASE("ownership: a plain view of a named tensor is a pointer, sizes and strides", "[tensor][ownership]") {
  // The hot path's type: nothing but the pointer and the two arrays, trivially copyable.
  STATIC_REQUIRE(sizeof(TensorView<float, 1>) == sizeof(float*) + 2 * sizeof(std::int64_t));
  STATIC_REQUIRE(sizeof(TensorView<float, 2>) == sizeof(float*) + 2 * 2 * sizeof(std::int64_t));
  STATIC_REQUIRE(sizeof(TensorView<const bfloat16, 4>) == sizeof(void*) + 2 * 4 * sizeof(std::int64_t));
  STATIC_REQUIRE(std::is_trivially_copyable_v<TensorView<float, 3>>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<TensorView<const float16, 1>>);
  STATIC_REQUIRE(std::is_trivially_destructible_v<TensorView<float, 3>>);

  Tensor<float, 3> x({4, 6, 8});
  const Tensor<float, 3>& cx = x;
  STATIC_REQUIRE(std::is_same_v<decltype(x.transpose(0, 1)), TensorView<float, 3>>);
  STATIC_REQUIRE(std::is_same_v<decltype(cx.transpose(0, 1)), TensorView<const float, 3>>);
  STATIC_REQUIRE(std::is_same_v<decltype(x.view()), TensorView<float, 3>>);
  STATIC_REQUIRE(std::is_same_v<decltype(x.view(-1)), TensorView<float, 1>>);
  STATIC_REQUIRE(std::is_same_v<decltype(x.select(0, 1)), TensorView<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(x.unsqueeze(0).expand(2, 4, 6, 8)), TensorView<float, 4>>);
  STATIC_REQUIRE(std::is_same_v<decltype(x.split(2, 1)), std::vector<TensorView<float, 3>>>);
  STATIC_REQUIRE(std::is_same_v<decltype(cx.chunk(2, 1)), std::vector<TensorView<const float, 3>>>);
  // reshape and contiguous may copy, so their type can own: here they own nothing.
  STATIC_REQUIRE(std::is_same_v<decltype(x.reshape(24, 8)), MaybeOwnedView<float, 2>>);
  CHECK_FALSE(x.reshape(24, 8).owns_memory());
  CHECK_FALSE(x.contiguous().owns_memory());

  // Views of a named tensor allocate nothing.
  tessel::reset_memory_stats();
  std::int64_t touched = 0;
  for (int i = 0; i < 100; ++i) {
    const auto a = x.transpose(0, 2).narrow(1, 1, 3).select(0, i % 8);
    const auto b = x.view(4, 48).split(12, 1)[std::size_t(i % 4)].unsqueeze(0).expand(3, 4, 12);
    const auto c = x.permute(2, 0, 1).reshape(8, 24);  // reshape: a view here (4 and 6 merge)
    const auto d = cx.chunk(3, -1);
    CHECK_FALSE(c.owns_memory());
    touched += a.numel() + b.numel() + c.numel() + std::int64_t(d.size());
  }
  CHECK(touched > 0);
  CHECK(tessel::memory_stats().allocations == 0);
}

TEST_CASE("ownership: chains from temporaries own their memory, chains of named tensors do not",
          "[tensor][ownership]") {
  STATIC_REQUIRE(std::is_same_v<decltype(Tensor<float, 2>({2, 3}).transpose(0, 1)), MaybeOwnedView<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(Tensor<float, 2>({2, 3}).view()), MaybeOwnedView<float, 2>>);
  STATIC_REQUIRE(
      std::is_same_v<decltype(Tensor<float, 2>({2, 3}).split(1, 0)), std::vector<MaybeOwnedView<float, 2>>>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<MaybeOwnedView<float, 3>&>().select(0, 0)),
                                MaybeOwnedView<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(std::declval<const MaybeOwnedView<const float, 3>&>().view(-1)),
                                MaybeOwnedView<const float, 1>>);

  Tensor<float, 2> x({3, 4});
  CHECK(x.view().transpose(0, 1).reshape(12).owns_memory());  // a copy: owns it
  CHECK(x.transpose(0, 1).contiguous().owns_memory());
  CHECK(Tensor<float, 2>({3, 4}).view(-1).owns_memory());
  const auto c = x.transpose(0, 1).contiguous();
  CHECK(c.view(12).owns_memory());  // a view of a named owning view shares its storage
  CHECK(c.transpose(0, 1).owns_memory());
  for (const auto& piece : c.split(1, 0)) CHECK(piece.owns_memory());
  CHECK_FALSE(x.contiguous().view(12).owns_memory());  // a view of a named tensor, whatever the path
  // An empty temporary has no memory to keep.
  CHECK_FALSE(Tensor<float, 2>({0, 4}).transpose(0, 1).owns_memory());
}

TEST_CASE("ownership: the attention idiom x.transpose(1, 2).contiguous().view(b, s, -1)", "[tensor][ownership]") {
  const std::int64_t b = 2, nh = 3, s = 5, hd = 4;
  const Tensor<float, 4> x = positional(b, nh, s, hd);  // [b, nh, s, hd]
  auto q = x.transpose(1, 2).contiguous().view(b, s, -1);
  STATIC_REQUIRE(std::is_same_v<decltype(q), MaybeOwnedView<const float, 3>>);
  churn();
  REQUIRE(q.owns_memory());
  REQUIRE(q.shape() == Shape<3>{b, s, nh * hd});
  CHECK(q.strides() == Shape<3>{s * nh * hd, nh * hd, 1});
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t d = 0; d < hd; ++d) REQUIRE(q(i, j, n * hd + d) == x(i, n, j, d));
  // The issue's other line: a permute of the copy.
  Tensor<float, 3> y({2, 3, 4});
  for (std::int64_t i = 0; i < y.numel(); ++i) y.data()[i] = float(i);
  auto p = y.view().transpose(0, 1).contiguous().permute(2, 0, 1);  // [4, 3, 2]
  churn();
  REQUIRE(p.owns_memory());
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 2; ++k) REQUIRE(p(i, j, k) == y(k, j, i));
}

TEST_CASE("ownership: the fused-QKV split done right", "[tensor][ownership]") {
  // qkv [b, s, 3 * nh * hd] with the weights laid out [W_q | W_k | W_v], heads inside each.
  const std::int64_t b = 2, s = 3, nh = 4, hd = 5, h = nh * hd;
  Tensor<float, 3> qkv({b, s, 3 * h});
  for (std::int64_t i = 0; i < qkv.numel(); ++i) qkv.data()[i] = float(i);
  auto heads = [&](std::int64_t which) {
    return qkv.view(b, s, 3, nh, hd).select(2, which).transpose(1, 2).contiguous();  // [b, nh, s, hd]
  };
  auto q = heads(0);
  auto k = heads(1);
  auto v = heads(2);
  churn();
  for (const auto* t : {&q, &k, &v}) {
    REQUIRE(t->owns_memory());
    REQUIRE(t->shape() == Shape<4>{b, nh, s, hd});
    REQUIRE(t->is_contiguous());
  }
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t j = 0; j < s; ++j)
        for (std::int64_t d = 0; d < hd; ++d) {
          const std::int64_t row = (i * s + j) * 3 * h;
          REQUIRE(q(i, n, j, d) == float(row + n * hd + d));
          REQUIRE(k(i, n, j, d) == float(row + h + n * hd + d));
          REQUIRE(v(i, n, j, d) == float(row + 2 * h + n * hd + d));
        }
  // The scores of head 0 through the engine: the owning views go straight into matmul.
  const auto scores = tessel::matmul(q.select(0, 0), k.select(0, 0).transpose(1, 2));  // [nh, s, s]
  for (std::int64_t n = 0; n < nh; ++n)
    for (std::int64_t a = 0; a < s; ++a)
      for (std::int64_t c = 0; c < s; ++c) {
        double want = 0;
        for (std::int64_t d = 0; d < hd; ++d) want += double(q(0, n, a, d)) * double(k(0, n, c, d));
        REQUIRE(double(scores(n, a, c)) == Approx(want).epsilon(1e-6));
      }
}

TEST_CASE("ownership: split and chunk of a copy, and of a temporary tensor: every piece", "[tensor][ownership]") {
  Tensor<float, 2> x({6, 4});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = float(i);
  auto parts = x.transpose(0, 1).contiguous().split(2, 0);  // 2 pieces of [2, 6]
  auto chunks = Tensor<float, 2>(x).chunk(4, 0);            // a temporary: 3 pieces of [2, 4]
  std::vector<MaybeOwnedView<float, 2>> kept;
  {
    auto more = x.view(24).reshape(4, 6).transpose(0, 1).reshape(-1).split(std::vector<std::int64_t>{5, 0, 19});
    for (auto& m : more) kept.push_back(m.unsqueeze(0));  // rank 2 pieces of the copy
  }
  churn();
  REQUIRE(parts.size() == 2);
  for (std::size_t p = 0; p < parts.size(); ++p) {
    REQUIRE(parts[p].owns_memory());
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 6; ++j) REQUIRE(parts[p](i, j) == x(j, std::int64_t(p) * 2 + i));
  }
  REQUIRE(chunks.size() == 3);
  for (std::size_t p = 0; p < chunks.size(); ++p)
    for (std::int64_t i = 0; i < 2; ++i)
      for (std::int64_t j = 0; j < 4; ++j) REQUIRE(chunks[p](i, j) == x(std::int64_t(p) * 2 + i, j));
  REQUIRE(kept.size() == 3);
  CHECK(kept[1].numel() == 0);
  // x viewed as [4, 6], transposed, flattened: element f is x.view(4, 6)[f % 4][f / 4].
  for (std::int64_t f = 0; f < 5; ++f) REQUIRE(kept[0](0, f) == float((f % 4) * 6 + f / 4));
  for (std::int64_t f = 5; f < 24; ++f) REQUIRE(kept[2](0, f - 5) == float((f % 4) * 6 + f / 4));

  // The memory is freed with the last piece, not before.
  tessel::release_cached_memory();
  const auto live0 = tessel::memory_stats().live_bytes;
  {
    auto big = Tensor<float, 2>({512, 1024}).split(128, 0);  // 2 MiB, 4 pieces
    CHECK(tessel::memory_stats().live_bytes > live0);
    auto last = big.back();
    big.clear();
    CHECK(tessel::memory_stats().live_bytes > live0);  // `last` still holds it
    last.fill_(1.0f);
    CHECK(last(127, 1023) == 1.0f);
  }
  CHECK(tessel::memory_stats().live_bytes == live0);
}

TEST_CASE("ownership: views of temporaries, of const tensors, and views returned from functions",
          "[tensor][ownership]") {
  auto make = [] {
    Tensor<float, 2> t({3, 4});
    for (std::int64_t i = 0; i < 12; ++i) t.data()[i] = float(i);
    return t;
  };
  auto a = make().transpose(0, 1);                    // a view of a temporary Tensor
  auto b = make().view(2, 6).narrow(1, 2, 3);         // a chain from it
  auto c = tessel::arange(12).view(3, 4).select(1, 2);  // a factory's result
  auto d = tessel::ones(3).unsqueeze(0).expand(2, 3);
  const Tensor<float, 2> ct = make();
  auto e = ct.transpose(0, 1).contiguous().view(-1);  // const elements, owns the copy
  auto f = ct.transpose(0, 1).narrow(0, 1, 2);        // a plain view of the named const tensor
  // A view returned from a function: the named owning view inside shares its storage with it.
  auto from_function = [&ct] {
    auto copy = ct.transpose(0, 1).contiguous();
    return copy.view(2, 6);
  };
  auto g = from_function();
  churn();
  STATIC_REQUIRE(std::is_same_v<decltype(f), TensorView<const float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(g), MaybeOwnedView<const float, 2>>);
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) REQUIRE(f(i, j) == ct(j, i + 1));
  for (std::int64_t k = 0; k < 12; ++k) REQUIRE(g(k / 6, k % 6) == float((k % 3) * 4 + k / 3));
  STATIC_REQUIRE(std::is_same_v<decltype(a), MaybeOwnedView<float, 2>>);
  STATIC_REQUIRE(std::is_same_v<decltype(e), MaybeOwnedView<const float, 1>>);
  for (std::int64_t i = 0; i < 4; ++i)
    for (std::int64_t j = 0; j < 3; ++j) REQUIRE(a(i, j) == float(j * 4 + i));
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) REQUIRE(b(i, j) == float(i * 6 + 2 + j));
  for (std::int64_t i = 0; i < 3; ++i) REQUIRE(c(i) == float(i * 4 + 2));
  REQUIRE(d.strides() == Shape<2>{0, 1});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) REQUIRE(d(i, j) == 1.0f);
  for (std::int64_t k = 0; k < 12; ++k) REQUIRE(e(k) == float((k % 3) * 4 + k / 3));
}

TEST_CASE("ownership: the forms that would dangle do not compile", "[tensor][ownership]") {
  // A plain view from a temporary that owns memory: the conversion is deleted.
  STATIC_REQUIRE_FALSE(std::is_convertible_v<MaybeOwnedView<float, 2>, TensorView<float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<MaybeOwnedView<float, 2>, TensorView<const float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<TensorView<float, 2>, MaybeOwnedView<float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<const MaybeOwnedView<float, 2>&&, TensorView<const float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Tensor<float, 2>, TensorView<float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Tensor<float, 2>, TensorView<const float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<TensorView<const float, 2>, Tensor<float, 2>>);
  // ... and the issue's lines: `TensorView<float, 2> w = x.view().transpose(0, 1).contiguous()
  // .view().view(3, 8);` and passing such a chain where a TensorView parameter is taken.
  STATIC_REQUIRE_FALSE(issue_line_compiles<Tensor<float, 3>>);
  STATIC_REQUIRE_FALSE(issue_line_copy_init_compiles<Tensor<float, 3>>);
  // Views of a const temporary Tensor (its memory can be neither moved out nor kept).
  STATIC_REQUIRE_FALSE(can_transpose<const Tensor<float, 2>&&>);
  STATIC_REQUIRE_FALSE(can_view_flat<const Tensor<float, 2>&&>);
  STATIC_REQUIRE_FALSE(can_contiguous<const Tensor<float, 2>&&>);
  STATIC_REQUIRE_FALSE(can_split<const Tensor<float, 2>&&>);
  STATIC_REQUIRE_FALSE(can_make_view<const Tensor<float, 2>&&>);

  // What stays allowed: from named objects, and every form on a const view (a view's constness is
  // shallow and copying it keeps whatever it keeps).
  STATIC_REQUIRE(std::is_convertible_v<MaybeOwnedView<float, 2>&, TensorView<float, 2>>);
  STATIC_REQUIRE(std::is_convertible_v<const MaybeOwnedView<float, 2>&, TensorView<const float, 2>>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<const MaybeOwnedView<const float, 2>&, TensorView<float, 2>>);
  STATIC_REQUIRE(std::is_convertible_v<Tensor<float, 2>&, TensorView<float, 2>>);
  STATIC_REQUIRE(std::is_convertible_v<MaybeOwnedView<float, 2>, MaybeOwnedView<const float, 2>>);
  STATIC_REQUIRE(can_transpose<const Tensor<float, 2>&>);
  STATIC_REQUIRE(can_transpose<Tensor<float, 2>&&>);
  STATIC_REQUIRE(can_transpose<const TensorView<float, 2>&&>);
  STATIC_REQUIRE(can_transpose<const MaybeOwnedView<float, 2>&&>);
  STATIC_REQUIRE(can_split<MaybeOwnedView<float, 2>&&>);
}

TEST_CASE("ownership: the deduced forms of tessel's functions accept every kind of object", "[tensor][ownership]") {
  const std::int64_t m = 5, k = 4, n = 3;
  auto A = tessel::randn({m, k}, 1);
  auto B = tessel::randn({n, k}, 2);  // used transposed
  auto reference = [&](std::int64_t i, std::int64_t j) {
    double acc = 0;
    for (std::int64_t p = 0; p < k; ++p) acc += double(A(i, p)) * double(B(j, p));
    return acc;
  };
  auto check = [&](const auto& C) {
    REQUIRE(C.shape() == Shape<2>{m, n});
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) REQUIRE(double(C(i, j)) == Approx(reference(i, j)).margin(1e-5));
  };
  check(tessel::matmul(A, B.transpose(0, 1)));                           // Tensor, TensorView
  check(tessel::matmul(A, B.transpose(0, 1).contiguous()));              // an owning copy, temporary
  check(tessel::matmul(Tensor<float, 2>(A), Tensor<float, 2>(B).transpose(0, 1)));  // temporaries
  const auto Bt = B.transpose(0, 1).contiguous();
  check(tessel::matmul(A.view().reshape(m, k), Bt));                                  // named owning
  check(tessel::matmul(A.unsqueeze(0).select(0, 0), Bt.view(k, n)));
  // Outputs: a named owning view and a view of a named tensor.
  auto out = tessel::zeros(n, m).transpose(0, 1);  // owning, strided
  tessel::matmul_into(A, Bt, out);
  check(out);
  Tensor<float, 2> C2({m, n});
  tessel::matmul_into(A.contiguous(), B.transpose(0, 1), C2.view());
  check(C2);

  // Multi-head, importance and selection with temporaries and owning views.
  const std::int64_t b = 2, s = 3, nh = 2, hd = 2, h = nh * hd, e = 3;
  auto X = tessel::randn({b, s, h}, 3);
  auto W = tessel::randn({h, e}, 4);
  const auto O2 = tessel::matmul_with_multi_head(X.transpose(0, 1).contiguous().transpose(0, 1), W, nh);
  const auto O2ref = tessel::matmul_with_multi_head(X, W, nh);
  CHECK(tessel::equal(O2, O2ref));
  const auto P = tessel::randn({b, s}, 5);
  const auto r1 = tessel::matmul_with_importance(X.reshape(b, s, h), W.contiguous(), P.transpose(0, 1).contiguous()
                                                     .transpose(0, 1), nh, {.top_k = 2});
  const auto r2 = tessel::matmul_with_importance(X, W, P, nh, {.top_k = 2});
  CHECK(r1.selected == r2.selected);
  CHECK(tessel::equal(r1.output, r2.output));
  CHECK(tessel::select_important(Tensor<float, 2>(P).view(), {.top_k = 1}) == tessel::select_important(P, {.top_k = 1}));
}

TEST_CASE("ownership: copy_, fill_ and to() on every kind of object", "[tensor][ownership]") {
  Tensor<float, 2> x({2, 3});
  x.fill_(1.5);
  CHECK(tessel::equal(x, tessel::full({2, 3}, 1.5f)));
  x.narrow(1, 0, 2).fill_(-2);  // a temporary view: written through
  CHECK(x(1, 1) == -2.0f);
  CHECK(x(1, 2) == 1.5f);
  auto row = tessel::arange(3);
  x.select(0, 0).copy_(row);                 // rvalue view
  x.copy_(x.select(0, 0).unsqueeze(0));      // broadcast from its own first row (overlapping)
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) CHECK(x(i, j) == float(j));
  auto owned = x.transpose(0, 1).contiguous();
  owned.fill_(7);                            // the copy, not x
  CHECK(x(0, 1) == 1.0f);
  CHECK(owned(2, 1) == 7.0f);
  // fill_ of an expanded view writes the shared element (PyTorch allows it); copy_ into one is refused.
  Tensor<float, 1> one({1});
  one.view().expand(4).fill_(3);
  CHECK(one(0) == 3.0f);
  CHECK_THROWS_AS(one.view().expand(4).copy_(tessel::arange(4)), shape_error);

  // to(): one rounding, from every element type.
  const auto values = tessel::randn({64}, 9);
  const auto as_bf16 = values.to<bfloat16>();
  const auto as_f16 = values.transpose(0, 0).to<float16>();
  const auto back = as_bf16.to<float>();
  const auto bf16_to_f16 = as_bf16.to<float16>();
  for (std::int64_t i = 0; i < 64; ++i) {
    CHECK(as_bf16(i).bits == bfloat16(values(i)).bits);
    CHECK(as_f16(i).bits == float16(values(i)).bits);
    CHECK(back(i) == float(bfloat16(values(i))));
    CHECK(bf16_to_f16(i).bits == float16(float(as_bf16(i))).bits);
  }
  auto same = values.to<float>();
  CHECK(same.data() != values.data());  // always a new tensor

  // A throwing operation on a temporary leaves it intact; a moved-from owning view is empty.
  auto kept = Tensor<float, 2>(x).view(-1);
  CHECK_THROWS_AS(std::move(kept).view(4, 4), shape_error);
  REQUIRE(kept.owns_memory());
  CHECK(kept(5) == 2.0f);
  auto moved_into = std::move(kept).transpose(0, 0);
  CHECK(moved_into.owns_memory());
  CHECK(kept.numel() == 0);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK_FALSE(kept.owns_memory());
  CHECK(moved_into(5) == 2.0f);
}

