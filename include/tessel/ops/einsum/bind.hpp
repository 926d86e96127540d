// tessel/ops/einsum/bind.hpp — a parsed equation bound to its operands' shapes: every label
// gets one size, every operand one stride per label, and the output its shape.
//
// torch.einsum's rules, checked here with errors that name the equation, the operand, the
// label and the sizes:
//   * an operand has as many dimensions as its term has labels, or at least as many as the
//     labels besides its ellipsis, which takes the rest;
//   * ellipsis dimensions are right-aligned across operands (numpy broadcasting);
//   * a label repeated within one operand takes the diagonal: its sizes there must agree,
//     and its stride is the sum of their strides (a strided view, no copy);
//   * a label's sizes must agree across operands or be 1; a size-1 dimension broadcasts,
//     which is stride 0.
#pragma once

#include "../../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../../core/error.hpp"
#include "equation.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// An operand's layout, rank erased.
struct EinsumShape {
  std::span<const std::int64_t> sizes, strides;
};

struct EinsumBinding {
  int ellipsis_dims = 0;           // E: the ellipsis block, broadcast over the operands
  int labels = 0;                  // label ids: kEinsumLetters letters, then E ellipsis dimensions
  std::vector<std::int64_t> size;  // per label id; 1 for an id no operand uses
  // stride[i][l]: operand i's stride along label l (summed over a diagonal); 0 where the
  // operand lacks l or broadcasts it.
  std::vector<std::vector<std::int64_t>> stride;
  std::vector<std::vector<char>> has;  // has[i][l]: operand i's term names label l
  std::vector<int> output;             // label ids of the output's dimensions, in order
  std::vector<std::int64_t> output_shape;
};

// Throws shape_error("einsum(\"<equation>\"): <parts>"); the prefix is built only on failure.
template <class... Parts>
[[noreturn]] void einsum_fail(std::string_view equation, const Parts&... parts) {
  std::string where = "einsum(\"";
  where += equation;
  where += "\")";
  fail(where, parts...);
}
template <class... Parts>
inline void einsum_check(bool condition, std::string_view equation, const Parts&... parts) {
  if (!condition) [[unlikely]]
    einsum_fail(equation, parts...);
}

inline std::vector<std::int64_t> einsum_sizes_of(const EinsumShape& s) { return {s.sizes.begin(), s.sizes.end()}; }

inline std::string einsum_label_name(int id) {
  if (id < kEinsumLetters) return std::string("subscript '") + einsum_label_char(id) + "'";
  return "ellipsis dimension " + std::to_string(id - kEinsumLetters);
}

// Binds `eq` (parsed from `text`, without errors) to the operands' shapes.
inline EinsumBinding bind_einsum(const EinsumEquation& eq, std::string_view text, std::span<const EinsumShape> ops) {
  const int n = static_cast<int>(ops.size());
  einsum_check(eq.operands == n, text, "the equation has ", eq.operands, eq.operands == 1 ? " operand" : " operands",
               " but ", n, n == 1 ? " tensor was" : " tensors were", " given");
  EinsumBinding b;
  std::vector<int> ell(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const EinsumTerm& t = eq.inputs[static_cast<std::size_t>(i)];
    const auto rank = static_cast<int>(ops[static_cast<std::size_t>(i)].sizes.size());
    if (t.has_ellipsis()) {
      einsum_check(rank >= t.letters(), text, "operand ", i, " has shape ", einsum_sizes_of(ops[std::size_t(i)]), " (",
                   rank, " dimensions) but its subscripts \"", einsum_term_string(t), "\" name ", t.letters(),
                   " dimensions besides the ellipsis");
      ell[static_cast<std::size_t>(i)] = rank - t.letters();
    } else {
      einsum_check(rank == t.letters(), text, "operand ", i, " has shape ", einsum_sizes_of(ops[std::size_t(i)]),
                   " (", rank, " dimensions) but its subscripts \"", einsum_term_string(t), "\" name ", t.letters(),
                   " and no ellipsis was given");
    }
    b.ellipsis_dims = std::max(b.ellipsis_dims, ell[static_cast<std::size_t>(i)]);
  }
  const int E = b.ellipsis_dims;
  b.labels = kEinsumLetters + E;
  const auto L = static_cast<std::size_t>(b.labels);
  b.size.assign(L, -1);
  b.stride.assign(static_cast<std::size_t>(n), std::vector<std::int64_t>(L, 0));
  b.has.assign(static_cast<std::size_t>(n), std::vector<char>(L, 0));
  std::vector<int> size_from(L, -1);  // the operand that set size[l] (for messages)
  std::vector<std::vector<std::int64_t>> own(static_cast<std::size_t>(n), std::vector<std::int64_t>(L, 1));

  for (int i = 0; i < n; ++i) {
    const EinsumTerm& t = eq.inputs[static_cast<std::size_t>(i)];
    const EinsumShape& s = ops[static_cast<std::size_t>(i)];
    const int e_i = ell[static_cast<std::size_t>(i)];
    auto take = [&](int label, std::size_t dim) {
      const auto l = static_cast<std::size_t>(label);
      const std::int64_t sz = s.sizes[dim];
      if (b.has[std::size_t(i)][l]) {
        einsum_check(own[std::size_t(i)][l] == sz, text, einsum_label_name(label), " is repeated in operand ", i,
                     " (shape ", einsum_sizes_of(s), ") but the sizes don't match: ", own[std::size_t(i)][l],
                     " != ", sz);
        b.stride[std::size_t(i)][l] += s.strides[dim];  // the diagonal
        return;
      }
      b.has[std::size_t(i)][l] = 1;
      own[std::size_t(i)][l] = sz;
      b.stride[std::size_t(i)][l] = s.strides[dim];
      if (b.size[l] == -1 || b.size[l] == 1) {
        if (b.size[l] == -1 || sz != 1) b.size[l] = sz, size_from[l] = i;
      } else {
        einsum_check(sz == 1 || sz == b.size[l], text, einsum_label_name(label), " has size ", b.size[l],
                     " in operand ", size_from[l], " (shape ", einsum_sizes_of(ops[std::size_t(size_from[l])]),
                     ") but size ", sz, " in operand ", i, " (shape ", einsum_sizes_of(s),
                     "); sizes must agree or be 1");
      }
    };
    std::size_t dim = 0;
    for (int e = 0; e < t.size; ++e) {
      const signed char l = t.labels[static_cast<std::size_t>(e)];
      if (l == kEinsumEllipsis) {
        for (int k = 0; k < e_i; ++k) take(kEinsumLetters + (E - e_i) + k, dim++);
      } else {
        take(l, dim++);
      }
    }
  }
  for (std::size_t l = 0; l < L; ++l)
    if (b.size[l] == -1) b.size[l] = 1;
  // A size-1 dimension is read at offset 0 whatever the size it broadcasts to.
  for (int i = 0; i < n; ++i)
    for (std::size_t l = 0; l < L; ++l)
      if (own[std::size_t(i)][l] == 1) b.stride[std::size_t(i)][l] = 0;

  for (int e = 0; e < eq.output.size; ++e) {
    const signed char l = eq.output.labels[static_cast<std::size_t>(e)];
    if (l == kEinsumEllipsis) {
      for (int k = 0; k < E; ++k) b.output.push_back(kEinsumLetters + k);
    } else {
      b.output.push_back(l);
    }
  }
  for (int id : b.output) b.output_shape.push_back(b.size[static_cast<std::size_t>(id)]);
  return b;
}

}  // namespace detail
TESSEL_NAMESPACE_END
