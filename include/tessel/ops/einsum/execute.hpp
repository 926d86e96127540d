// tessel/ops/einsum/execute.hpp — running a bound einsum: one operand through the strided
// loops, two through multiply() (the engine, or the loops for products that are not matrix
// products), more pairwise from left to right.
//
// With more than two operands each intermediate keeps the labels still needed (by a later
// operand or the output) and is rounded to T, as torch.einsum's intermediates are; it is the
// only memory einsum allocates besides its result.
#pragma once

#include "../../core/config.hpp"

#include <cstdint>
#include <span>
#include <vector>

#include "../../core/tensor.hpp"
#include "bind.hpp"
#include "contraction.hpp"
#include "dims.hpp"
#include "loops.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

template <class T>
void einsum_execute(const EinsumBinding& bd, std::span<const T* const> data, T* out,
                    std::span<const std::int64_t> out_strides) {
  const auto L = static_cast<std::size_t>(bd.labels);
  const std::size_t n = data.size();
  std::vector<std::int64_t> final_stride(L, 0);
  std::vector<char> in_output(L, 0);
  for (std::size_t d = 0; d < bd.output.size(); ++d) {
    final_stride[static_cast<std::size_t>(bd.output[d])] = out_strides[d];
    in_output[static_cast<std::size_t>(bd.output[d])] = 1;
  }

  if (n == 1) {
    ProductDims dims;
    for (std::size_t l = 0; l < L; ++l)
      if (bd.has[0][l] || in_output[l]) dims.push_back(ProductDim{bd.size[l], bd.stride[0][l], 0, final_stride[l], 0});
    return run_loops<T>(data[0], nullptr, nullptr, out, std::move(dims));
  }

  // The running left operand: the first input, then each intermediate.
  const T* left = data[0];
  std::vector<std::int64_t> left_stride = bd.stride[0];
  std::vector<char> left_has = bd.has[0];
  Tensor<T, 1> buffer;  // the current intermediate
  for (std::size_t i = 1; i < n; ++i) {
    const bool last = i + 1 == n;
    std::vector<std::int64_t> c_stride(L, 0);
    std::vector<char> c_has(L, 0);
    T* c = out;
    Tensor<T, 1> next;
    if (last) {
      c_stride = final_stride;
      c_has = in_output;
    } else {
      // Labels still needed, in the output's order first, then by id; laid out contiguously.
      std::vector<char> needed = in_output;
      for (std::size_t j = i + 1; j < n; ++j)
        for (std::size_t l = 0; l < L; ++l) needed[l] |= bd.has[j][l];
      std::vector<int> order;
      for (int id : bd.output) order.push_back(id);
      for (std::size_t l = 0; l < L; ++l)
        if (needed[l] && !in_output[l] && (left_has[l] || bd.has[i][l])) order.push_back(static_cast<int>(l));
      std::int64_t extent = 1;
      for (std::size_t q = order.size(); q-- > 0;) {
        const auto l = static_cast<std::size_t>(order[q]);
        if (!(left_has[l] || bd.has[i][l])) continue;  // an output label that comes later
        c_has[l] = 1;
        c_stride[l] = extent;
        extent *= bd.size[l];
      }
      next = Tensor<T, 1>(Shape<1>{extent}, uninitialized);
      c = next.data();
    }
    ProductDims dims;
    for (std::size_t l = 0; l < L; ++l)
      if (left_has[l] || bd.has[i][l] || c_has[l])
        dims.push_back(ProductDim{bd.size[l], left_has[l] ? left_stride[l] : 0, bd.stride[i][l], c_stride[l], 0});
    multiply<T>(left, data[i], nullptr, c, std::move(dims));
    if (!last) {
      buffer = std::move(next);
      left = buffer.data();
      for (std::size_t l = 0; l < L; ++l)
        if (c_has[l] && bd.size[l] == 1) c_stride[l] = 0;
      left_stride = std::move(c_stride);
      left_has = std::move(c_has);
    }
  }
}

}  // namespace detail
TESSEL_NAMESPACE_END
