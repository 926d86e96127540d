// einsum (SPEC §10) against the fp64 reference of tests/support/einsum_reference.hpp, for
// float, float16 and bfloat16 on every ISA path: torch.einsum's grammar (implicit outputs in
// ASCII order, spaces, ellipses, diagonals, sums, size-1 broadcasting), one, two and three
// operands, contiguous and randomly laid-out operands, zero sizes; the compile-time form's
// rank deduction and compile errors (checked with requires-expressions), the run-time form's
// error messages; the planner's groups on the engine and what it copies (memory_stats).
#include <catch2/catch.hpp>

#include "support/checks.hpp"
#include "support/einsum_reference.hpp"
#include "support/reference.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

using namespace tessel_test;
using tessel::Shape;
using tessel::Tensor;
using tessel::TensorView;
namespace td = tessel::detail;

namespace {

// A deterministic seed per (equation, index).
std::uint32_t seed_of(const std::string& s, std::uint32_t i) {
  std::uint32_t h = 2166136261u;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h + 7919u * i;
}

// The fp64 reference of eq on these tensors or views.
template <class... X>
Ref ref_of(const std::string& eq, const X&... t) {
  const std::vector<Dense> d{dense_any(t)...};
  std::vector<const Dense*> p;
  for (const auto& x : d) p.push_back(&x);
  return ref_einsum(eq, p);
}

// Runs einsum<N>(eq, ...) on random operands of the given shapes, on every ISA path, with
// contiguous operands and with operands in random layouts, and judges every result against
// the fp64 reference. `unit` widens the tolerance for chains (see judge_any).
template <class T, std::size_t N, std::size_t... R>
void check_einsum(const std::string& eq, double unit, const Shape<R>&... shapes) {
  CAPTURE(eq, type_name<T>());
  std::uint32_t k = 0;
  auto next_seed = [&] { return seed_of(eq, k++); };  // (a braced list runs left to right)
  const std::tuple<Tensor<T, R>...> ops{random_tensor<T, R>(shapes, next_seed())...};
  const Ref ref = std::apply([&](const auto&... t) { return ref_of(eq, t...); }, ops);
  SettingsGuard guard;
  std::mt19937 rng(seed_of(eq, 99));
  for (tessel::Isa isa : available_isas()) {
    tessel::set_isa(isa);
    CAPTURE(tessel::active_isa());
    std::apply(
        [&](const auto&... t) {
          const auto before = std::make_tuple(t...);
          const Tensor<T, N> y = tessel::einsum<N>(eq, t...);
          INFO("contiguous operands");
          CHECK_VERDICT(judge_any(y, ref, unit));
          CHECK(std::apply([&](const auto&... b) { return (same_bits(b, t) && ...); }, before));
          const auto laid = std::make_tuple(random_layout(t, rng)...);
          std::apply(
              [&](const auto&... l) {
                const Tensor<T, N> z = tessel::einsum<N>(eq, l.view...);
                INFO("operands in random layouts");
                CHECK_VERDICT(judge_any(z, ref, unit));
              },
              laid);
        },
        ops);
  }
}

// Precision of T (the unit roundoff): the tolerance of a chain that rounds intermediates.
template <class T>
double unit_roundoff() {
  return std::ldexp(1.0, -precision_of<T>());
}

template <class F>
std::string einsum_error(F&& f) {
  return error_of(std::forward<F>(f));
}

}  // namespace

// ---------------------------------------------------------------- the parser

TEST_CASE("einsum parser: torch.einsum's grammar at compile time", "[einsum][parse]") {
  using td::EinsumError;
  using td::parse_einsum;
  // Implicit output: labels occurring once, ASCII order (uppercase first), ellipsis first.
  constexpr auto p1 = parse_einsum("ba");
  static_assert(p1.ok() && p1.output.size == 2 && p1.output.labels[0] == td::einsum_label_index('a'));
  constexpr auto p2 = parse_einsum("cb,bA");
  static_assert(p2.output.size == 2 && p2.output.labels[0] == td::einsum_label_index('A') &&
                p2.output.labels[1] == td::einsum_label_index('c'));
  constexpr auto p3 = parse_einsum("...ij, ...jk");
  static_assert(p3.ok() && p3.output.has_ellipsis() && p3.output.ellipsis_at == 0 && p3.output.letters() == 2);
  constexpr auto p4 = parse_einsum("ii");  // a trace: i occurs twice
  static_assert(p4.ok() && p4.output.size == 0 && !p4.explicit_output);
  constexpr auto p5 = parse_einsum(" b i d , d e -> b i e ");
  static_assert(p5.ok() && p5.operands == 2 && p5.explicit_output && p5.output.size == 3);
  constexpr auto p6 = parse_einsum("ij->");
  static_assert(p6.ok() && p6.explicit_output && p6.output.size == 0);
  // Errors.
  static_assert(parse_einsum("ij,j$->i").error == EinsumError::bad_character);
  static_assert(parse_einsum("ij,j$->i").error_at == 4);
  static_assert(parse_einsum("i.j").error == EinsumError::lone_dot);
  static_assert(parse_einsum("i..").error == EinsumError::lone_dot);
  static_assert(parse_einsum("...i...").error == EinsumError::two_ellipses);
  static_assert(parse_einsum("...i->......").error == EinsumError::output_two_ellipses);
  static_assert(parse_einsum("ij->ii").error == EinsumError::output_label_repeated);
  static_assert(parse_einsum("ij->k").error == EinsumError::output_label_not_input);
  static_assert(parse_einsum("ij->j->i").error == EinsumError::bad_character);
  static_assert(parse_einsum("i-j").error == EinsumError::bad_character);
  CHECK(parse_einsum("ij,jk").ok());
}

// ---------------------------------------------------------------- the compile-time form

namespace {
// Whether einsum<Eq>(x...) compiles to a tensor (a wrong call returns detail::InvalidEinsum,
// whose static_asserts fire only when the call is really made).
template <td::EinsumLiteral Eq, class... X>
concept Compiles = requires(const X&... x) {
  { tessel::einsum<Eq>(x...) } -> tessel::TensorLike;
};
}  // namespace

TEST_CASE("einsum<\"...\">: ranks are deduced, wrong equations and ranks do not compile", "[einsum][compile]") {
  using T2 = Tensor<float, 2>;
  using T3 = Tensor<float, 3>;
  using B2 = Tensor<tessel::bfloat16, 2>;
  static_assert(Compiles<"ij,jk->ik", T2, T2>);
  static_assert(Compiles<"ij,jk->ik", TensorView<float, 2>, TensorView<const float, 2>>);
  static_assert(Compiles<"ij,jk->ik", tessel::MaybeOwnedView<float, 2>, T2>);
  static_assert(!Compiles<"ij,jk->ik", T2>);          // one operand for two terms
  static_assert(!Compiles<"ij,jk->ik", T2, T2, T2>);  // three
  static_assert(!Compiles<"ij,jk->ik", T3, T2>);      // "ij" on a rank-3 operand
  static_assert(!Compiles<"ij,jk->ik", T2, B2>);      // element types differ
  static_assert(!Compiles<"ij,jk->ik", int, T2>);     // not a tensor
  static_assert(!Compiles<"ij,j$->ik", T2, T2>);
  static_assert(!Compiles<"...i...j,jk->ik", T2, T2>);
  static_assert(!Compiles<"ij,jk->ii", T2, T2>);
  static_assert(!Compiles<"ij,jk->iz", T2, T2>);
  static_assert(!Compiles<"i.j,jk->ik", T2, T2>);
  static_assert(!Compiles<"...ij,jk->......ik", T2, T2>);
  static_assert(!Compiles<"ij,jk->i->k", T2, T2>);
  static_assert(Compiles<"...ij,...jk->...ik", Tensor<float, 4>, T3>);
  static_assert(!Compiles<"...ij,...jk->...ik", Tensor<float, 1>, T2>);  // fewer dimensions than "ij"
  // Result ranks.
  static_assert(std::is_same_v<decltype(tessel::einsum<"bij,bjk->bik">(T3{}, T3{})), T3>);
  static_assert(std::is_same_v<decltype(tessel::einsum<"...ij,...jk->...ik">(Tensor<float, 5>{}, T3{})),
                               Tensor<float, 5>>);
  static_assert(std::is_same_v<decltype(tessel::einsum<"ij,jk">(T2{}, T2{})), T2>);
  static_assert(std::is_same_v<decltype(tessel::einsum<"ij->">(T2{})), Tensor<float, 0>>);
  static_assert(std::is_same_v<decltype(tessel::einsum<"...ii->...">(Tensor<float, 4>{})), T2>);
  static_assert(std::is_same_v<decltype(tessel::einsum<"ij,jk,kl->il">(B2{}, B2{}, B2{})), B2>);

  // The compile-time and run-time forms agree, on Tensors and on views.
  const auto A = random_tensor<float, 2>({4, 6}, 1);
  const auto B = random_tensor<float, 2>({6, 3}, 2);
  const auto C1 = tessel::einsum<"ij,jk->ik">(A, B);
  const auto C2 = tessel::einsum<2>("ij,jk->ik", A.view(), B.view());
  const auto C3 = tessel::einsum<"ik,kj">(A.view(), B.view().reshape(6, 3));
  CHECK(same_bits(C1, C2));
  CHECK(same_bits(C1, C3));
}

// ---------------------------------------------------------------- results

TEMPLATE_TEST_CASE("einsum: two operands against the fp64 reference", "[einsum]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  check_einsum<T, 2>("ij,jk->ik", 0, Shape<2>{5, 7}, Shape<2>{7, 3});
  check_einsum<T, 2>("ij,jk", 0, Shape<2>{33, 17}, Shape<2>{17, 40});
  check_einsum<T, 2>("ij,kj->ik", 0, Shape<2>{9, 20}, Shape<2>{12, 20});
  check_einsum<T, 2>("ji,jk->ik", 0, Shape<2>{20, 9}, Shape<2>{20, 12});
  check_einsum<T, 2>("ij,jk->ki", 0, Shape<2>{18, 7}, Shape<2>{7, 35});
  check_einsum<T, 3>("bij,bjk->bik", 0, Shape<3>{3, 4, 6}, Shape<3>{3, 6, 5});
  check_einsum<T, 3>("bij,bjk->bik", 0, Shape<3>{1, 4, 6}, Shape<3>{3, 6, 5});  // b broadcast from 1
  check_einsum<T, 3>("bij,bjk->kib", 0, Shape<3>{2, 3, 4}, Shape<3>{2, 4, 5});
  check_einsum<T, 4>("bsnk,nke->bsne", 0, Shape<4>{2, 5, 4, 3}, Shape<3>{4, 3, 6});
  check_einsum<T, 4>("bhqd,bhkd->bhqk", 0, Shape<4>{2, 3, 5, 4}, Shape<4>{2, 3, 6, 4});
  check_einsum<T, 4>("bhqk,bhkd->bhqd", 0, Shape<4>{2, 3, 5, 6}, Shape<4>{2, 3, 6, 4});
  check_einsum<T, 2>("ijk,jkl->il", 0, Shape<3>{3, 4, 5}, Shape<3>{4, 5, 6});
  check_einsum<T, 2>("ijk,kjl->il", 0, Shape<3>{3, 4, 5}, Shape<3>{5, 4, 6});
  check_einsum<T, 1>("ij,jk->k", 0, Shape<2>{3, 4}, Shape<2>{4, 5});  // i summed in one operand only
  check_einsum<T, 2>("ij,k->ik", 0, Shape<2>{6, 9}, Shape<1>{4});
  check_einsum<T, 2>("iij,jk->ik", 0, Shape<3>{4, 4, 5}, Shape<2>{5, 3});  // a diagonal inside a product
  check_einsum<T, 0>("ij,ji->", 0, Shape<2>{5, 7}, Shape<2>{7, 5});
  check_einsum<T, 2>("Ab,bC->AC", 0, Shape<2>{3, 4}, Shape<2>{4, 5});
  check_einsum<T, 2>("Ab,bc", 0, Shape<2>{3, 4}, Shape<2>{4, 5});  // implicit "Ac"
  check_einsum<T, 2>("b i d , d e -> b e", 0, Shape<3>{2, 3, 4}, Shape<2>{4, 5});
}

TEMPLATE_TEST_CASE("einsum: ellipses and size-1 broadcasting", "[einsum]", float, tessel::float16, tessel::bfloat16) {
  using T = TestType;
  check_einsum<T, 4>("...ij,...jk->...ik", 0, Shape<4>{2, 3, 4, 5}, Shape<4>{2, 3, 5, 2});
  check_einsum<T, 4>("...ij,...jk->...ik", 0, Shape<4>{2, 1, 4, 5}, Shape<3>{3, 5, 2});
  check_einsum<T, 4>("...ij,jk->...ik", 0, Shape<4>{2, 3, 4, 5}, Shape<2>{5, 6});
  check_einsum<T, 4>("...ij,...jk", 0, Shape<4>{2, 3, 4, 5}, Shape<4>{1, 3, 5, 2});  // implicit
  check_einsum<T, 2>("...ij,...jk->ik", 0, Shape<3>{3, 4, 5}, Shape<3>{3, 5, 2});  // ellipsis summed
  check_einsum<T, 2>("ij,jk->ik", 0, Shape<2>{3, 1}, Shape<2>{4, 5});                 // j: 1 broadcasts to 4
  check_einsum<T, 3>("bij,bjk->bik", 0, Shape<3>{3, 4, 1}, Shape<3>{1, 1, 5});
  check_einsum<T, 2>("i...,...j->ij", 0, Shape<1>{4}, Shape<1>{3});  // empty ellipses
}

TEMPLATE_TEST_CASE("einsum: products without a matrix product (outer, Hadamard, dot)", "[einsum]", float,
                   tessel::float16, tessel::bfloat16) {
  using T = TestType;
  check_einsum<T, 2>("i,j->ij", 0, Shape<1>{5}, Shape<1>{7});
  check_einsum<T, 2>("i,j->ji", 0, Shape<1>{600}, Shape<1>{9});
  check_einsum<T, 2>("ij,ij->ij", 0, Shape<2>{4, 6}, Shape<2>{4, 6});
  check_einsum<T, 2>("ij,ji->ij", 0, Shape<2>{40, 30}, Shape<2>{30, 40});
  check_einsum<T, 3>("bi,bj->bij", 0, Shape<2>{3, 5}, Shape<2>{3, 4});
  check_einsum<T, 0>("i,i->", 0, Shape<1>{33}, Shape<1>{33});
  check_einsum<T, 0>("i,i", 0, Shape<1>{1100}, Shape<1>{1100});
  check_einsum<T, 1>("bi,bi->b", 0, Shape<2>{6, 70}, Shape<2>{6, 70});
  check_einsum<T, 0>("ij,kl->", 0, Shape<2>{3, 4}, Shape<2>{5, 2});
  check_einsum<T, 1>("ij,ij->j", 0, Shape<2>{50, 3}, Shape<2>{50, 3});
}

TEMPLATE_TEST_CASE("einsum: one operand (permutes, diagonals, sums, traces)", "[einsum]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  check_einsum<T, 2>("ij->ji", 0, Shape<2>{4, 7});
  check_einsum<T, 2>("ba", 0, Shape<2>{4, 7});  // implicit "ab": the transpose
  check_einsum<T, 3>("ijk->kji", 0, Shape<3>{3, 4, 5});
  check_einsum<T, 1>("ii->i", 0, Shape<2>{5, 5});
  check_einsum<T, 0>("ii->", 0, Shape<2>{6, 6});
  check_einsum<T, 0>("ii", 0, Shape<2>{6, 6});
  check_einsum<T, 0>("ij->", 0, Shape<2>{4, 9});
  check_einsum<T, 2>("ijk->ik", 0, Shape<3>{3, 8, 4});
  check_einsum<T, 1>("ij->i", 0, Shape<2>{5, 700});
  check_einsum<T, 1>("ij->j", 0, Shape<2>{700, 5});
  check_einsum<T, 1>("iji->j", 0, Shape<3>{3, 4, 3});
  check_einsum<T, 2>("...ii->...i", 0, Shape<3>{2, 4, 4});
  check_einsum<T, 1>("i", 0, Shape<1>{9});
  check_einsum<T, 0>("->", 0, Shape<0>{});
}

TEMPLATE_TEST_CASE("einsum: three operands, contracted left to right", "[einsum]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  const double u = unit_roundoff<T>();
  check_einsum<T, 2>("ij,jk,kl->il", 4 * u, Shape<2>{3, 4}, Shape<2>{4, 5}, Shape<2>{5, 6});
  check_einsum<T, 2>("ab,bc,cd", 4 * u, Shape<2>{3, 4}, Shape<2>{4, 5}, Shape<2>{5, 2});
  check_einsum<T, 3>("bij,bjk,bkl->bil", 4 * u, Shape<3>{2, 3, 4}, Shape<3>{2, 4, 5}, Shape<3>{2, 5, 3});
  check_einsum<T, 0>("i,i,i->", 4 * u, Shape<1>{20}, Shape<1>{20}, Shape<1>{20});
  check_einsum<T, 2>("ik,jl,kl->ij", 4 * u, Shape<2>{3, 4}, Shape<2>{2, 5}, Shape<2>{4, 5});
}

TEMPLATE_TEST_CASE("einsum: zero sizes", "[einsum]", float, tessel::float16, tessel::bfloat16) {
  using T = TestType;
  check_einsum<T, 2>("ij,jk->ik", 0, Shape<2>{3, 0}, Shape<2>{0, 4});  // nothing summed: zeros
  check_einsum<T, 2>("ij,jk->ik", 0, Shape<2>{0, 5}, Shape<2>{5, 3});  // empty result
  check_einsum<T, 0>("i,i->", 0, Shape<1>{0}, Shape<1>{0});
  check_einsum<T, 1>("ij->j", 0, Shape<2>{0, 4});
  check_einsum<T, 2>("ij,jk->ik", 0, Shape<2>{3, 1}, Shape<2>{0, 4});  // j: 1 broadcasts to 0
  check_einsum<T, 3>("bi,bj->bij", 0, Shape<2>{0, 3}, Shape<2>{0, 2});
}

TEMPLATE_TEST_CASE("einsum: engine-sized products and odd layouts", "[einsum]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  check_einsum<T, 4>("bsnk,nke->bsne", 0, Shape<4>{2, 33, 4, 16}, Shape<3>{4, 16, 24});
  check_einsum<T, 4>("bhqd,bhkd->bhqk", 0, Shape<4>{2, 3, 37, 16}, Shape<4>{2, 3, 29, 16});
  check_einsum<T, 3>("abk,kn->abn", 0, Shape<3>{3, 17, 40}, Shape<2>{40, 33});
  check_einsum<T, 4>("mk,kabc->mabc", 0, Shape<2>{19, 24}, Shape<4>{24, 3, 4, 5});
  check_einsum<T, 4>("abck,kn->abcn", 0, Shape<4>{3, 4, 5, 24}, Shape<2>{24, 7});
  check_einsum<T, 4>("xyij,xyjk->xyik", 0, Shape<4>{2, 3, 9, 20}, Shape<4>{2, 3, 20, 11});
  check_einsum<T, 2>("iabc,abcj->ij", 0, Shape<4>{7, 3, 4, 5}, Shape<4>{3, 4, 5, 9});
}

// Groups of dimensions that do not merge become multi-dimensional engine axes: M, N, the
// batch and K of three dimensions each, laid out so that no two of them merge, read in place.
TEMPLATE_TEST_CASE("einsum: groups whose dimensions do not merge", "[einsum]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  // M = (a, b, c) laid out c, a, b: no two of them merge.
  const auto A = random_tensor<T, 4>({3, 4, 5, 24}, 1);
  const auto B = random_tensor<T, 2>({24, 7}, 2);
  const auto A_odd = lay_out(A, {2, 0, 1, 3}, 2);
  // N = (a, b, c) likewise, in the second operand.
  const auto P = random_tensor<T, 2>({19, 24}, 3);
  const auto Q = random_tensor<T, 4>({24, 3, 4, 5}, 4);
  const auto Q_odd = lay_out(Q, {3, 1, 0, 2}, 1);
  // Batch (x, y) transposed in one operand only.
  const auto X = random_tensor<T, 4>({2, 3, 9, 20}, 5);
  const auto Y = random_tensor<T, 4>({2, 3, 20, 11}, 6);
  const auto X_odd = lay_out(X, {1, 0, 2, 3}, 1);
  // K = (a, b, c) contiguous as c, (a b) in one operand and as b, (c a) in the other.
  const auto U = random_tensor<T, 4>({7, 3, 4, 5}, 7);
  const auto V = random_tensor<T, 4>({3, 4, 5, 9}, 8);
  const auto U_odd = lay_out(U, {3, 0, 1, 2}, 1);
  const auto V_odd = lay_out(V, {1, 3, 2, 0}, 1);
  const Ref ra = ref_of("abck,kn->abcn", A, B), rq = ref_of("mk,kabc->mabc", P, Q);
  const Ref rx = ref_of("xyij,xyjk->xyik", X, Y), ru = ref_of("iabc,abcj->ij", U, V);
  for (tessel::Isa isa : available_isas()) {
    tessel::set_isa(isa);
    CAPTURE(tessel::active_isa());
    CHECK_VERDICT(judge_any(tessel::einsum<4>("abck,kn->abcn", A_odd.view, B), ra));
    CHECK_VERDICT(judge_any(tessel::einsum<4>("mk,kabc->mabc", P, Q_odd.view), rq));
    CHECK_VERDICT(judge_any(tessel::einsum<4>("xyij,xyjk->xyik", X_odd.view, Y), rx));
    CHECK_VERDICT(judge_any(tessel::einsum<2>("iabc,abcj->ij", U_odd.view, V_odd.view), ru));
  }
}

namespace {

// A view of t's values with dimensions [first, first + count) in reverse order in memory,
// the others in place: no two of the reversed ones merge with each other.
template <class T, std::size_t R>
Laid<T, R> reversed_dims(const Tensor<T, R>& t, std::size_t first, std::size_t count) {
  std::array<std::size_t, R> perm{};
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::reverse(perm.begin() + std::ptrdiff_t(first), perm.begin() + std::ptrdiff_t(first + count));
  return lay_out(t, perm, 1);
}

// G = one more dimension than an engine axis takes, in M, in N and in the batch (the
// planner's fallbacks: M and N overflow into the batch, the batch into a loop of calls); each
// against the reference, on every ISA path, with nothing allocated but the result.
template <class T, std::size_t G>
void check_group_overflow() {
  std::string g;
  for (std::size_t i = 0; i < G; ++i) g += static_cast<char>('A' + i);
  Shape<G + 1> sm{}, sn{};
  Shape<G + 2> sx{}, sy{};
  for (std::size_t i = 0; i < G; ++i) sm[i] = sn[i + 1] = sx[i] = sy[i] = 2;
  sm[G] = 5, sn[0] = 5;
  sx[G] = 3, sx[G + 1] = 4, sy[G] = 4, sy[G + 1] = 3;
  const auto A = random_tensor<T, G + 1>(sm, 41);  // [g..., k]
  const auto B = random_tensor<T, 2>({5, 3}, 42);
  const auto Bn = random_tensor<T, G + 1>(sn, 43);  // [k, g...]
  const auto Am = random_tensor<T, 2>({3, 5}, 44);
  const auto X = random_tensor<T, G + 2>(sx, 45);  // [g..., i, j]
  const auto Y = random_tensor<T, G + 2>(sy, 46);  // [g..., j, k]
  const auto A_odd = reversed_dims(A, 0, G);
  const auto Bn_odd = reversed_dims(Bn, 1, G);
  const auto X_odd = reversed_dims(X, 0, G);
  const std::string em = g + "k,kn->" + g + "n", en = "mk,k" + g + "->m" + g, ex = g + "ij," + g + "jk->" + g + "ik";
  const Ref rm = ref_of(em, A, B), rn = ref_of(en, Am, Bn), rx = ref_of(ex, X, Y);
  for (tessel::Isa isa : available_isas()) {
    tessel::set_isa(isa);
    CAPTURE(tessel::active_isa(), G);
    CHECK_VERDICT(judge_any(tessel::einsum<G + 1>(em, A_odd.view, B), rm));
    CHECK_VERDICT(judge_any(tessel::einsum<G + 1>(en, Am, Bn_odd.view), rn));
    CHECK_VERDICT(judge_any(tessel::einsum<G + 2>(ex, X_odd.view, Y), rx));
  }
  tessel::set_num_threads(1);
  auto allocations = [](auto&& call) {
    (void)call();
    tessel::reset_memory_stats();
    (void)call();
    return tessel::memory_stats().allocations;
  };
  CHECK(allocations([&] { return tessel::einsum<G + 1>(em, A_odd.view, B); }) == 1);
  CHECK(allocations([&] { return tessel::einsum<G + 1>(en, Am, Bn_odd.view); }) == 1);
  CHECK(allocations([&] { return tessel::einsum<G + 2>(ex, X_odd.view, Y); }) == 1);
}

}  // namespace

TEMPLATE_TEST_CASE("einsum: groups with more dimensions than an engine axis takes", "[einsum]", float,
                   tessel::bfloat16) {
  SettingsGuard guard;
  check_group_overflow<TestType, td::kEngineAxisDims + 1>();
}

// The bias of the planner's products (linear's): along N or M with one stride it goes to the
// engine's epilogue; any other bias (here one that varies along both M and N, which no public
// call passes) is written to c first and the product added onto it, still rounded once.
TEMPLATE_TEST_CASE("multiply: a bias along N, along M, and along both", "[einsum][bias]", float, tessel::float16,
                   tessel::bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  const std::int64_t I = 37, J = 45, K = 20;
  const auto A = random_tensor<T, 2>({I, K}, 1);
  const auto B = random_tensor<T, 2>({K, J}, 2);
  const auto bias = random_tensor<T, 2>({I, J}, 3);
  const Ref prod = ref_of("ik,kj->ij", A, B);
  const Dense bd = dense_any(bias);
  struct Case {
    const char* what;
    std::int64_t bias_i, bias_j;  // the bias's strides along i and j
  };
  for (const Case& cs : {Case{"along N", 0, 1}, Case{"along M", J, 0}, Case{"along M and N", J, 1},
                         Case{"a scalar", 0, 0}}) {
    Ref want = prod;
    for (std::int64_t i = 0; i < I; ++i)
      for (std::int64_t j = 0; j < J; ++j) {
        const double b = bd.v[std::size_t(i * cs.bias_i + j * cs.bias_j)];
        want.val[std::size_t(i * J + j)] += b;
        want.mag[std::size_t(i * J + j)] += std::fabs(b);
      }
    for (tessel::Isa isa : available_isas()) {
      tessel::set_isa(isa);
      CAPTURE(cs.what, tessel::active_isa());
      for (bool c_transposed : {false, true}) {  // c's contiguous dimension in N, then in M (the roles swap)
        Tensor<T, 2> c(c_transposed ? Shape<2>{J, I} : Shape<2>{I, J});
        const TensorView<T, 2> cv = c_transposed ? c.view().transpose(0, 1) : c.view();
        td::ProductDims dims{{I, K, 0, cv.stride(0), cs.bias_i}, {J, 0, 1, cv.stride(1), cs.bias_j}, {K, 1, J, 0, 0}};
        td::multiply<T>(A.data(), B.data(), bias.data(), cv.data(), dims);
        CHECK_VERDICT(judge_any(TensorView<const T, 2>(cv), want));
      }
    }
  }
}

namespace {

// einsum "M<k labels>,<k labels>N->MN" with `K` contracted dimensions of size 2 laid out
// so that no two of them merge across the operands: the first operand's in reverse order
// (layout 0), or the second's padded so that they do not merge even on their own (layout 1),
// or both padded (layout 2). Returns how many blocks the call allocated, after a warm-up.
template <class T, std::size_t K>
std::int64_t allocations_for_k_layout(int layout) {
  std::string ks;
  for (std::size_t i = 0; i < K; ++i) ks += static_cast<char>('a' + i);
  const std::string eq = "M" + ks + "," + ks + "N->MN";
  CAPTURE(eq, layout);
  Shape<K + 1> sa{}, sb{};
  sa[0] = 3, sb[K] = 4;
  for (std::size_t i = 0; i < K; ++i) sa[i + 1] = 2, sb[i] = 2;
  const auto A = random_tensor<T, K + 1>(sa, 31);
  const auto B = random_tensor<T, K + 1>(sb, 32);
  std::array<std::size_t, K + 1> perm{};
  for (std::size_t i = 0; i <= K; ++i) perm[i] = i == 0 ? 0 : K + 1 - i;
  const auto A_rev = lay_out(A, perm, 1);
  const auto A_pad = padded_layout(A), B_pad = padded_layout(B);
  const TensorView<const T, K + 1> a = layout == 0 ? A_rev.view : layout == 1 ? A.view() : A_pad.view;
  const TensorView<const T, K + 1> b = layout == 0 ? B.view() : B_pad.view;
  const auto warm = tessel::einsum<2>(eq, a, b);
  CHECK_VERDICT(judge_any(warm, ref_of(eq, A, B)));
  tessel::reset_memory_stats();
  const auto y = tessel::einsum<2>(eq, a, b);
  const std::int64_t n = tessel::memory_stats().allocations;
  CHECK(same_bits(y, warm));
  return n;
}

}  // namespace

TEMPLATE_TEST_CASE("einsum allocates its result, and copies an operand only when the engine cannot express a group",
                   "[einsum][memory]", float, tessel::float16, tessel::bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  tessel::set_num_threads(1);  // the engine's per-thread packing buffers exist after one warm-up call
  auto allocations = [](auto&& call) {
    (void)call();
    tessel::reset_memory_stats();
    (void)call();
    return tessel::memory_stats().allocations;
  };
  // Attention scores with Q and K read from [b, s, h, d] buffers through transposed views.
  const auto Q = random_tensor<T, 4>({2, 40, 3, 16}, 1);
  const auto Kt = random_tensor<T, 4>({2, 24, 3, 16}, 2);
  const auto q = Q.view().transpose(1, 2), k = Kt.view().transpose(1, 2);
  CHECK(allocations([&] { return tessel::einsum<"bhqd,bhkd->bhqk">(q, k); }) == 1);
  const auto A1 = random_tensor<T, 4>({2, 9, 4, 8}, 3);
  const auto W = random_tensor<T, 3>({4, 8, 12}, 4);
  CHECK(allocations([&] { return tessel::einsum<"bsnk,nke->bsne">(A1, W); }) == 1);
  CHECK(allocations([&] { return tessel::einsum<"bsnk->knsb">(A1); }) == 1);
  CHECK(allocations([&] { return tessel::einsum<"bsnk->n">(A1); }) == 1);
  CHECK(allocations([&] { return tessel::einsum<"bsnk,bsnk->bsnk">(A1, A1); }) == 1);
  CHECK(allocations([&] { return tessel::einsum<"bsnk,e->bsnke">(A1, W.view().select(0, 0).select(0, 0)); }) == 1);
  // Three operands: one intermediate.
  const auto M = random_tensor<T, 2>({12, 5}, 5);
  CHECK(allocations([&] { return tessel::einsum<"bsnk,nke,ef->bsnf">(A1, W, M); }) == 2);
  // As many non-mergeable contracted dimensions as an engine axis takes: no copy. One more:
  // the operand whose order breaks the group is copied (in the other's order), or both when
  // neither order merges.
  constexpr std::size_t L = td::kEngineAxisDims;
  for (int layout : {0, 1, 2}) CHECK(allocations_for_k_layout<T, L>(layout) == 1);
  CHECK(allocations_for_k_layout<T, L + 1>(0) == 2);
  CHECK(allocations_for_k_layout<T, L + 1>(1) == 2);
  CHECK(allocations_for_k_layout<T, L + 1>(2) == 3);
}

TEMPLATE_TEST_CASE("einsum: 1 and 2 threads give the same bits", "[einsum][threads]", float, tessel::bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  const auto Q = random_tensor<T, 4>({2, 4, 96, 32}, 1);
  const auto K = random_tensor<T, 4>({2, 4, 80, 32}, 2);
  const auto X = random_tensor<T, 2>({3000, 70}, 3);
  for (tessel::Isa isa : available_isas()) {
    tessel::set_isa(isa);
    CAPTURE(tessel::active_isa());
    tessel::set_num_threads(1);
    const auto s1 = tessel::einsum<"bhqd,bhkd->bhqk">(Q, K);
    const auto c1 = tessel::einsum<"ij->j">(X);
    const auto r1 = tessel::einsum<"ij->i">(X);
    const auto o1 = tessel::einsum<"ij,ij->ij">(X, X);
    tessel::set_num_threads(2);
    CHECK(same_bits(s1, tessel::einsum<"bhqd,bhkd->bhqk">(Q, K)));
    CHECK(same_bits(c1, tessel::einsum<"ij->j">(X)));
    CHECK(same_bits(r1, tessel::einsum<"ij->i">(X)));
    CHECK(same_bits(o1, tessel::einsum<"ij,ij->ij">(X, X)));
  }
}

TEST_CASE("einsum<N>(equation): errors name the equation, the operand, the label and the sizes", "[einsum][errors]") {
  const auto A = random_tensor<float, 2>({3, 4}, 1);
  const auto B = random_tensor<float, 2>({5, 6}, 2);
  const auto C = random_tensor<float, 3>({4, 5, 6}, 3);
  const auto S = random_tensor<float, 2>({3, 3}, 4);
  auto msg = [](auto&& f) { return einsum_error(f); };
  using Catch::Matchers::Contains;
  CHECK_THAT(msg([&] { tessel::einsum<2>("ij,jk->ik", A, B, B); }),
             Contains("einsum(\"ij,jk->ik\"): the equation has 2 operands but 3 tensors were given"));
  CHECK_THAT(msg([&] { tessel::einsum<2>("ij,jk->ik", A, C); }),
             Contains("einsum(\"ij,jk->ik\"): operand 1 has shape [4, 5, 6] (3 dimensions) but its subscripts \"jk\" "
                      "name 2 and no ellipsis was given"));
  CHECK_THAT(msg([&] { tessel::einsum<2>("ij,jk->ik", A, B); }),
             Contains("einsum(\"ij,jk->ik\"): subscript 'j' has size 4 in operand 0 (shape [3, 4]) but size 5 in "
                      "operand 1 (shape [5, 6]); sizes must agree or be 1"));
  CHECK_THAT(msg([&] { tessel::einsum<1>("ii->i", A); }),
             Contains("einsum(\"ii->i\"): subscript 'i' is repeated in operand 0 (shape [3, 4]) but the sizes don't "
                      "match: 3 != 4"));
  CHECK_THAT(msg([&] { tessel::einsum<1>("ij,j$->i", A, B); }),
             Contains("einsum(\"ij,j$->i\"): invalid character '$' at index 4"));
  CHECK_THAT(msg([&] { tessel::einsum<1>("i.j", A); }), Contains("found '.' at index 1 that is not part of an ellipsis"));
  CHECK_THAT(msg([&] { tessel::einsum<1>("...i...", A); }),
             Contains("operand 0 has a second ellipsis '...' at index 4"));
  CHECK_THAT(msg([&] { tessel::einsum<1>("ij->k", A); }),
             Contains("output subscript 'k' at index 4 does not appear in the equation for any input operand"));
  CHECK_THAT(msg([&] { tessel::einsum<2>("ij->ii", A); }),
             Contains("output subscript 'i' at index 5 appears more than once in the output"));
  CHECK_THAT(msg([&] { tessel::einsum<3>("ij,jk->ik", S, S); }),
             Contains("einsum(\"ij,jk->ik\"): the equation gives a result of rank 2 (shape [3, 3]) but einsum<3> asks "
                      "for rank 3"));
  CHECK_THAT(msg([&] { tessel::einsum<1>("...i,...i->...", A, random_tensor<float, 2>({2, 4}, 5)); }),
             Contains("ellipsis dimension 0 has size 3 in operand 0 (shape [3, 4]) but size 2 in operand 1 (shape [2, "
                      "4]); sizes must agree or be 1"));
  CHECK_THAT(msg([&] { tessel::einsum<2>("abc->ab", A); }),
             Contains("operand 0 has shape [3, 4] (2 dimensions) but its subscripts \"abc\" name 3"));
  CHECK_THAT(msg([&] { tessel::einsum<2>("...abc->ab", A); }),
             Contains("its subscripts \"...abc\" name 3 dimensions besides the ellipsis"));
  // std::invalid_argument catches it too.
  CHECK_THROWS_AS(tessel::einsum<2>("ij,jk->ik", A, B), std::invalid_argument);
}
