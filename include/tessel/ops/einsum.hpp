// tessel/ops/einsum.hpp — torch.einsum (SPEC §10), with the equation at compile time or at
// run time:
//
//   auto C = einsum<"bij,bjk->bik">(A, B);        // malformed equations, operand counts and
//                                                 // ranks are compile errors; rank deduced
//   Tensor<T, 3> C = einsum<3>("bij,bjk->bik", A, B);   // shape_error instead
//
// torch.einsum's semantics exactly (ops/einsum/equation.hpp, bind.hpp): labels a–z A–Z,
// spaces ignored, implicit output in ASCII order after the ellipsis dimensions, "..." once
// per operand (right-aligned, broadcasting), repeated labels take diagonals, labels absent
// from the output are summed, sizes agree or are 1. Products accumulate in fp32 and each
// output element is rounded to T once. Any number of operands, contracted pairwise from left
// to right.
//
// Contractions run on the GEMM engine with every operand read in place through its strides
// (ops/einsum/contraction.hpp); single-operand sums, permutes and traces, outer and Hadamard
// products and dot products run as strided loops (ops/einsum/loops.hpp). Inputs are never
// modified; the result is a new contiguous tensor.
#pragma once

#include "../core/config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "../core/tensor.hpp"
#include "einsum/bind.hpp"
#include "einsum/equation.hpp"
#include "einsum/execute.hpp"

TESSEL_NAMESPACE_BEGIN

namespace detail {

// The equation as a template argument: einsum<"ij,jk->ik">(...) deduces N from the literal.
template <std::size_t N>
struct EinsumLiteral {
  char text[N] = {};
  constexpr EinsumLiteral(const char (&s)[N]) {  // NOLINT: implicit by design
    for (std::size_t i = 0; i < N; ++i) text[i] = s[i];
  }
  constexpr std::string_view view() const { return {text, N - 1}; }
};

// The return type of a compile-time einsum whose equation or operands are wrong; the call's
// static_asserts say what is wrong. (Concept checks see this type instead of a Tensor.)
struct InvalidEinsum {};

template <class... X>
struct first_of {};
template <class X0, class... X>
struct first_of<X0, X...> {
  using type = X0;
};
template <class... X>
using first_element_t = element_of_t<typename first_of<X...>::type>;

template <TensorLike... X>
inline constexpr bool einsum_same_types = sizeof...(X) >= 1 &&
                                          (std::is_same_v<element_of_t<X>, first_element_t<X...>> && ...);

// An operand's rank, or -1 when it is not a tensor (then no equation term fits it).
template <class X>
constexpr int einsum_operand_rank() {
  if constexpr (TensorLike<X>) return static_cast<int>(rank_of_v<X>);
  else return -1;
}

template <bool Valid, int Rank, class... X>
struct EinsumResult {
  using type = InvalidEinsum;
};
template <int Rank, class... X>
struct EinsumResult<true, Rank, X...> {
  using type = Tensor<first_element_t<X...>, static_cast<std::size_t>(Rank)>;
};

// What the compile-time form knows about a call: the parse, and whether the operands fit it.
// (It must also be well-formed for operands that are not tensors: compilers that substitute
// into the return type before checking einsum's constraints instantiate it for them.)
template <EinsumLiteral Eq, class... X>
struct StaticEinsum {
  static constexpr EinsumEquation eq = parse_einsum(Eq.view());
  static constexpr std::array<int, sizeof...(X)> ranks{einsum_operand_rank<X>()...};
  static constexpr bool count_ok = eq.ok() && eq.operands == static_cast<int>(sizeof...(X));
  static constexpr bool rank_ok(std::size_t i) {
    const EinsumTerm& t = eq.inputs[i];
    return t.has_ellipsis() ? ranks[i] >= t.letters() : ranks[i] == t.letters();
  }
  static constexpr bool ranks_ok = [] {
    if (!count_ok) return false;
    for (std::size_t i = 0; i < sizeof...(X); ++i)
      if (!rank_ok(i)) return false;
    return true;
  }();
  static constexpr bool types_ok = [] {
    if constexpr ((TensorLike<X> && ...)) return einsum_same_types<X...>;
    else return false;
  }();
  static constexpr bool valid = ranks_ok && types_ok;
  // The result's rank: the output's labels, plus the ellipsis block where it has one.
  static constexpr int rank = [] {
    if (!valid) return 0;
    int ell = 0;
    for (std::size_t i = 0; i < sizeof...(X); ++i)
      if (eq.inputs[i].has_ellipsis()) ell = std::max(ell, ranks[i] - eq.inputs[i].letters());
    return eq.output.letters() + (eq.output.has_ellipsis() ? ell : 0);
  }();
  using type = typename EinsumResult<valid, rank, X...>::type;
};

// Instantiated per operand so that a failing rank check names the operand (I) in the
// compiler's "required from" notes.
template <std::size_t I, int Rank, int Letters, bool Ellipsis>
constexpr void einsum_check_operand_rank() {
  static_assert(Ellipsis || Rank == Letters,
                "einsum: an operand's rank differs from the number of its subscripts and it has no '...' "
                "(this check's template arguments: I = the operand, Rank = its rank, Letters = its subscripts)");
  static_assert(!Ellipsis || Rank >= Letters,
                "einsum: an operand has fewer dimensions than its subscripts besides '...' "
                "(this check's template arguments: I = the operand, Rank = its rank, Letters = its subscripts)");
}

template <class T, std::size_t N, std::size_t... R>
Tensor<T, N> einsum_run(std::string_view text, const EinsumEquation& eq, const TensorView<const T, R>&... ops) {
  const std::array<EinsumShape, sizeof...(R)> shapes{EinsumShape{ops.shape(), ops.strides()}...};
  const EinsumBinding b = bind_einsum(eq, text, shapes);
  einsum_check(b.output.size() == N, text, "the equation gives a result of rank ", b.output.size(), " (shape ",
               b.output_shape, ") but einsum<", N, "> asks for rank ", N);
  Shape<N> shape{};
  for (std::size_t d = 0; d < N; ++d) shape[d] = b.output_shape[d];
  Tensor<T, N> out(shape, uninitialized);
  const std::array<const T*, sizeof...(R)> data{ops.data()...};
  const Shape<N> strides = out.strides();
  einsum_execute<T>(b, data, out.data(), strides);
  return out;
}

}  // namespace detail

// The equation at run time; N is the result's rank.
template <std::size_t N, TensorLike... X>
  requires(detail::einsum_same_types<X...>)
Tensor<detail::first_element_t<X...>, N> einsum(std::string_view equation, const X&... operands) {
  using T = detail::first_element_t<X...>;
  static_assert(is_element_type_v<T>, "einsum: the element type must be float, float16 or bfloat16");
  const detail::EinsumEquation eq = detail::parse_einsum(equation);
  detail::einsum_check(eq.ok(), equation, detail::einsum_error_text(eq, equation));
  return detail::einsum_run<T, N>(equation, eq, as_const_view(operands)...);
}

// The equation at compile time (a string literal); the result's rank is deduced. Wrong
// equations and operand ranks fail to compile with the messages below.
template <detail::EinsumLiteral Eq, TensorLike... X>
auto einsum(const X&... operands) -> typename detail::StaticEinsum<Eq, X...>::type {
  using S = detail::StaticEinsum<Eq, X...>;
  using E = detail::EinsumError;
  static_assert(S::eq.error != E::bad_character,
                "einsum: the equation has a character that is not a subscript (a-z, A-Z), a space, ',', '...' or "
                "'->'");
  static_assert(S::eq.error != E::lone_dot, "einsum: the equation has a '.' that is not part of an ellipsis '...'");
  static_assert(S::eq.error != E::two_ellipses, "einsum: an operand's subscripts contain '...' twice");
  static_assert(S::eq.error != E::output_two_ellipses, "einsum: the output contains '...' twice");
  static_assert(S::eq.error != E::output_label_repeated, "einsum: a subscript appears more than once in the output");
  static_assert(S::eq.error != E::output_label_not_input,
                "einsum: an output subscript does not appear in the equation for any input operand");
  static_assert(S::eq.error != E::too_many_operands, "einsum: the equation has more than 32 operands");
  static_assert(S::eq.error != E::term_too_long, "einsum: a term of the equation has more than 64 subscripts");
  static_assert(!S::eq.ok() || S::count_ok,
                "einsum: the number of tensors passed differs from the number of operands in the equation");
  static_assert(S::types_ok, "einsum: all operands must have the same element type");
  if constexpr (S::count_ok) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (detail::einsum_check_operand_rank<I, S::ranks[I], S::eq.inputs[I].letters(), S::eq.inputs[I].has_ellipsis()>(),
       ...);
    }(std::make_index_sequence<sizeof...(X)>{});
  }
  if constexpr (S::valid) {
    using T = detail::first_element_t<X...>;
    return detail::einsum_run<T, static_cast<std::size_t>(S::rank)>(Eq.view(), S::eq, as_const_view(operands)...);
  } else {
    return {};
  }
}

TESSEL_NAMESPACE_END
