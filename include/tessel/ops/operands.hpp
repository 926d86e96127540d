// tessel/ops/operands.hpp — turning user views into engine operands, and the checks every
// op shares (shapes, output sizes, output overlap).
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "../core/error.hpp"
#include "../core/overlap.hpp"
#include "../core/shape.hpp"
#include "../core/tensor.hpp"
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

// ---- outputs: size, and memory shared with inputs, with other outputs, with themselves ----

// An output an op is about to allocate: its element count and bytes must be representable.
template <class T, std::size_t R>
void check_output_size(std::string_view where, const char* name, const Shape<R>& shape) {
  const auto n = countable_numel(shape);
  check(n.has_value(), where, "the output ", name, " would have shape ", shape,
        ", more elements than an int64 can count (its sizes multiply past 2^63 - 1)");
  check(fits_in_object(*n, sizeof(T)), where, "the output ", name, " would have shape ", shape, ": ", *n,
        " elements of ", sizeof(T), " bytes, more than one allocation can hold (2^63 - 1 bytes)");
}

// Throws when `out` shares an element with the input `in`. Returns whether they are proven
// disjoint; false means the arithmetic could not decide cheaply (core/overlap.hpp), and the
// caller then computes into a temporary and copies it to `out` (OutputSlot), which is right
// whether or not they share memory.
template <class T, std::size_t RO, class U, std::size_t RI>
bool check_no_overlap(std::string_view where, const char* out_name, const TensorView<T, RO>& out,
                      const char* in_name, const TensorView<U, RI>& in) {
  const Sharing s = sharing_between(out, in);
  check(s != Sharing::some, where, out_name, " (shape ", out.shape(), ", strides ", out.strides(),
        ") overlaps the memory of ", in_name, " (shape ", in.shape(), ", strides ", in.strides(),
        "); outputs must not alias inputs");
  return s == Sharing::none;
}
// Two outputs of one call must not share an element (decided exactly).
template <class T, std::size_t RA, std::size_t RB>
void check_outputs_disjoint(std::string_view where, const char* a_name, const TensorView<T, RA>& a,
                            const char* b_name, const TensorView<T, RB>& b) {
  check(!views_share_elements(a, b), where, a_name, " (shape ", a.shape(), ", strides ", a.strides(),
        ") overlaps the memory of ", b_name, " (shape ", b.shape(), ", strides ", b.strides(),
        "); outputs must not alias each other");
}
// An output must not reach one element from two indices (an expanded view; decided exactly).
template <class T, std::size_t R>
void check_writable(std::string_view where, const char* name, const TensorView<T, R>& out) {
  check(!has_internal_overlap(out), where, name, " (shape ", out.shape(), ", strides ", out.strides(),
        ") has elements that share memory (an expanded view?) and cannot be written");
}

// Where an op writes one output: straight into the caller's view, or into a temporary when
// the output could not be proven disjoint from the inputs; finish() then copies it over,
// once every input has been read.
template <class T, std::size_t R>
class OutputSlot {
 public:
  OutputSlot(TensorView<T, R> out, bool direct) : out_(out) {
    if (!direct) temporary_.emplace(out.shape(), uninitialized);
  }
  TensorView<T, R> view() { return temporary_ ? temporary_->view() : out_; }
  void finish() {
    if (temporary_) out_.copy_(temporary_->view());
  }

 private:
  TensorView<T, R> out_;
  std::optional<Tensor<T, R>> temporary_;
};

template <class T, std::size_t R>
void check_shape(std::string_view where, const char* name, const TensorView<T, R>& v, const Shape<R>& want,
                 std::string_view why = {}) {
  check(v.shape() == want, where, name, " has shape ", v.shape(), " but ", (why.empty() ? "expected" : why), " ",
        want);
}

}  // namespace detail
TESSEL_NAMESPACE_END
