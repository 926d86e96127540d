// tessel/ops/einsum/equation.hpp — an einsum equation parsed by torch.einsum's grammar, with
// one constexpr parser for both forms: the compile-time equation turns its errors into
// static_asserts, the run-time one into shape_errors (their texts are here too).
//
//   equation := term ("," term)* ["->" term]       term := (letter | "..." | " ")*
//
// Letters a–z and A–Z are subscripts (labels); spaces are ignored; "..." may appear once per
// term. Without "->" the output is implicit: the ellipsis dimensions first (when any input has
// an ellipsis), then every label that occurs exactly once over all inputs, in ASCII order
// (uppercase before lowercase). With "->" every output label must occur in some input, at
// most once in the output. A label repeated within one input takes that diagonal; a label
// absent from the output is summed.
#pragma once

#include "../../core/config.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Labels are numbered in ASCII order: 'A'..'Z' -> 0..25, 'a'..'z' -> 26..51. Ellipsis
// dimensions get the ids after them (bind.hpp).
inline constexpr int kEinsumLetters = 52;
// Capacities of the fixed-size parse (it must be a literal type for the compile-time form).
inline constexpr int kEinsumMaxOperands = 32;
inline constexpr int kEinsumMaxTerm = 64;  // entries of one term; an ellipsis counts once
inline constexpr signed char kEinsumEllipsis = -1;

constexpr int einsum_label_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  return -1;
}
constexpr char einsum_label_char(int index) {
  return index < 26 ? static_cast<char>('A' + index) : static_cast<char>('a' + (index - 26));
}

enum class EinsumError : unsigned char {
  none,
  bad_character,            // error_at: a character that is no letter, ' ', '.', ',' or "->"
  lone_dot,                 // error_at: a '.' that does not start "..."
  two_ellipses,             // error_operand: a second "..." in one input term
  output_two_ellipses,      // a second "..." in the output
  output_label_repeated,    // error_char: a label twice in the output
  output_label_not_input,   // error_char: an output label no input has
  too_many_operands,        // more than kEinsumMaxOperands terms
  term_too_long,            // error_operand (-1: the output): more than kEinsumMaxTerm entries
};

// One term: its entries in order, each a label index or kEinsumEllipsis.
struct EinsumTerm {
  std::array<signed char, kEinsumMaxTerm> labels{};
  int size = 0;
  int ellipsis_at = -1;  // entry index of the ellipsis, -1 when there is none

  constexpr bool has_ellipsis() const { return ellipsis_at >= 0; }
  constexpr int letters() const { return size - (has_ellipsis() ? 1 : 0); }
  constexpr bool push(signed char label) {
    if (size == kEinsumMaxTerm) return false;
    if (label == kEinsumEllipsis) ellipsis_at = size;
    labels[static_cast<std::size_t>(size++)] = label;
    return true;
  }
};

struct EinsumEquation {
  int operands = 0;
  std::array<EinsumTerm, kEinsumMaxOperands> inputs{};
  EinsumTerm output{};  // the explicit output, or the implicit one spelled out
  bool explicit_output = false;
  std::array<int, kEinsumLetters> count{};  // occurrences of each label over all inputs

  EinsumError error = EinsumError::none;
  int error_at = -1;       // index into the equation
  int error_operand = -1;  // which input term
  char error_char = 0;     // the offending label

  constexpr bool ok() const { return error == EinsumError::none; }
  constexpr bool any_input_ellipsis() const {
    for (int i = 0; i < operands; ++i)
      if (inputs[static_cast<std::size_t>(i)].has_ellipsis()) return true;
    return false;
  }
};

constexpr EinsumEquation parse_einsum(std::string_view eq) {
  EinsumEquation r;
  auto fail = [&](EinsumError e, int at) {
    r.error = e;
    r.error_at = at;
    return r;
  };
  // (Searched by hand: string_view::find is not a constant expression on a template
  // argument's characters under GCC's -fsanitize=undefined.)
  std::size_t arrow = eq.size();
  for (std::size_t i = 0; i + 1 < eq.size(); ++i)
    if (eq[i] == '-' && eq[i + 1] == '>') {
      arrow = i;
      break;
    }
  const std::size_t lhs_end = arrow;
  r.operands = 1;
  for (std::size_t i = 0; i < lhs_end; ++i) {
    const char ch = eq[i];
    EinsumTerm& term = r.inputs[static_cast<std::size_t>(r.operands - 1)];
    const int at = static_cast<int>(i);
    if (ch == ' ') continue;
    if (ch == ',') {
      if (r.operands == kEinsumMaxOperands) return fail(EinsumError::too_many_operands, at);
      ++r.operands;
      continue;
    }
    if (ch == '.') {
      r.error_operand = r.operands - 1;
      if (i + 2 >= lhs_end || eq[i + 1] != '.' || eq[i + 2] != '.') return fail(EinsumError::lone_dot, at);
      if (term.has_ellipsis()) return fail(EinsumError::two_ellipses, at);
      if (!term.push(kEinsumEllipsis)) return fail(EinsumError::term_too_long, at);
      r.error_operand = -1;
      i += 2;
      continue;
    }
    const int label = einsum_label_index(ch);
    if (label < 0) return fail(EinsumError::bad_character, at);
    if (!term.push(static_cast<signed char>(label))) {
      r.error_operand = r.operands - 1;
      return fail(EinsumError::term_too_long, at);
    }
    ++r.count[static_cast<std::size_t>(label)];
  }

  if (arrow == eq.size()) {
    // Implicit output: ellipsis dimensions first, then the labels that occur once, in order.
    if (r.any_input_ellipsis()) r.output.push(kEinsumEllipsis);
    for (int label = 0; label < kEinsumLetters; ++label)
      if (r.count[static_cast<std::size_t>(label)] == 1) r.output.push(static_cast<signed char>(label));
    return r;
  }
  r.explicit_output = true;
  std::array<bool, kEinsumLetters> in_output{};
  for (std::size_t i = arrow + 2; i < eq.size(); ++i) {
    const char ch = eq[i];
    const int at = static_cast<int>(i);
    if (ch == ' ') continue;
    if (ch == '.') {
      if (i + 2 >= eq.size() || eq[i + 1] != '.' || eq[i + 2] != '.') return fail(EinsumError::lone_dot, at);
      if (r.output.has_ellipsis()) return fail(EinsumError::output_two_ellipses, at);
      if (!r.output.push(kEinsumEllipsis)) return fail(EinsumError::term_too_long, at);
      i += 2;
      continue;
    }
    const int label = einsum_label_index(ch);
    if (label < 0) return fail(EinsumError::bad_character, at);
    r.error_char = ch;
    if (r.count[static_cast<std::size_t>(label)] == 0) return fail(EinsumError::output_label_not_input, at);
    if (in_output[static_cast<std::size_t>(label)]) return fail(EinsumError::output_label_repeated, at);
    r.error_char = 0;
    in_output[static_cast<std::size_t>(label)] = true;
    if (!r.output.push(static_cast<signed char>(label))) return fail(EinsumError::term_too_long, at);
  }
  return r;
}

// The subscripts of a term as written, without spaces ("b...ij").
inline std::string einsum_term_string(const EinsumTerm& t) {
  std::string s;
  for (int e = 0; e < t.size; ++e) {
    const signed char l = t.labels[static_cast<std::size_t>(e)];
    if (l == kEinsumEllipsis) s += "...";
    else s += einsum_label_char(l);
  }
  return s;
}

// What is wrong with a parse that failed, in words (the run-time form's shape_error).
inline std::string einsum_error_text(const EinsumEquation& r, std::string_view eq) {
  const std::string at = " at index " + std::to_string(r.error_at);
  const std::string chr = r.error_at >= 0 && r.error_at < static_cast<int>(eq.size())
                              ? std::string("'") + eq[static_cast<std::size_t>(r.error_at)] + "'"
                              : std::string("?");
  switch (r.error) {
    case EinsumError::none: return "no error";
    case EinsumError::bad_character:
      return "invalid character " + chr + at + ": subscripts must be letters a-z or A-Z (spaces, ',', '...' and "
             "one '->' are the only other characters allowed)";
    case EinsumError::lone_dot:
      return "found '.'" + at + " that is not part of an ellipsis '...'";
    case EinsumError::two_ellipses:
      return "operand " + std::to_string(r.error_operand) + " has a second ellipsis '...'" + at +
             " (at most one per operand)";
    case EinsumError::output_two_ellipses: return "the output has a second ellipsis '...'" + at;
    case EinsumError::output_label_repeated:
      return std::string("output subscript '") + r.error_char + "'" + at + " appears more than once in the output";
    case EinsumError::output_label_not_input:
      return std::string("output subscript '") + r.error_char + "'" + at +
             " does not appear in the equation for any input operand";
    case EinsumError::too_many_operands:
      return "more than " + std::to_string(kEinsumMaxOperands) + " operands" + at;
    case EinsumError::term_too_long:
      return (r.error_operand >= 0 ? "operand " + std::to_string(r.error_operand) : std::string("the output")) +
             " has more than " + std::to_string(kEinsumMaxTerm) + " subscripts" + at;
  }
  return "unknown error";
}

}  // namespace detail
TESSEL_NAMESPACE_END
