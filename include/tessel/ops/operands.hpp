// tessel/ops/operands.hpp — turning user views into engine operands, and the checks every
// op shares (shapes, output overlap).
#pragma once

#include "../core/config.hpp"

#include <cstdint>
#include <string_view>

#include "../core/error.hpp"
#include "../core/tensor_view.hpp"
#include "../gemm/problem.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

// Rows of a [d0, d1, ...] view flattened as i = i0·d1 + i1, without copying: one stride when
// the two dimensions merge, otherwise a two-dimensional Axis.
inline Axis merged_axis(std::int64_t size0, std::int64_t stride0, std::int64_t size1, std::int64_t stride1) {
  return Axis::of({size0, size1}, {stride0, stride1});
}

// A 2-D view as an operand (rows = dim 0, cols = dim 1).
template <class T>
Operand<T> matrix_operand(const TensorView<T, 2>& v) {
  return Operand<T>{v.data(), Axis::strided(0), Axis::strided(v.stride(0)), Axis::strided(v.stride(1))};
}
// A 3-D view as a batch of matrices (batch = dim 0; a batch of one broadcasts).
template <class T>
Operand<T> batched_operand(const TensorView<T, 3>& v) {
  return Operand<T>{v.data(), Axis::strided(v.size(0) == 1 ? 0 : v.stride(0)), Axis::strided(v.stride(1)),
                    Axis::strided(v.stride(2))};
}

// An output view must not share memory with an input, nor with itself (an expanded view).
template <class T, std::size_t RO, class U, std::size_t RI>
void check_no_overlap(std::string_view where, const char* out_name, const TensorView<T, RO>& out,
                      const char* in_name, const TensorView<U, RI>& in) {
  check(!memory_overlaps(out, in), where, out_name, " (shape ", out.shape(), ", strides ", out.strides(),
        ") overlaps the memory of ", in_name, " (shape ", in.shape(), ", strides ", in.strides(),
        "); outputs must not alias inputs");
}
template <class T, std::size_t R>
void check_writable(std::string_view where, const char* name, const TensorView<T, R>& out) {
  check(!has_internal_overlap(out), where, name, " (shape ", out.shape(), ", strides ", out.strides(),
        ") has elements that share memory (an expanded view?) and cannot be written");
}
template <class T, std::size_t R>
void check_shape(std::string_view where, const char* name, const TensorView<T, R>& v, const Shape<R>& want,
                 std::string_view why = {}) {
  check(v.shape() == want, where, name, " has shape ", v.shape(), " but ", (why.empty() ? "expected" : why), " ",
        want);
}

}  // namespace detail
TESSEL_NAMESPACE_END
