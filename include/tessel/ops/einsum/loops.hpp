// tessel/ops/einsum/loops.hpp — the products that are not matrix products, as strided loops
// at memory speed:
//
//   c[o] = bias[o] + Σ_s a[o, s] · b[o, s]      (b and bias optional; fp32, one rounding)
//
// This covers single-operand einsums (permutes, diagonals, sums, traces), products with
// nothing contracted (outer, Hadamard, batched outer: a GEMM with k = 1 would pack both
// operands to multiply each pair once), contractions with no free label on either side
// (dot products, one per batch), linear's bias gradient (column sums) and filling an output
// with a broadcast bias. No operand is copied: runs along the innermost dimension are
// converted to fp32 in small stack buffers (the ISA's vector conversion when they are
// contiguous), combined, and stored.
//
// Three loop orders, chosen from the strides:
//   elementwise  nothing summed: the innermost output dimension is the run.
//   along        the run is the innermost summed dimension (contiguous in the inputs, or no
//                output dimension is): each output element is one dot product of runs.
//   across       the run is the innermost output dimension (contiguous in the inputs while
//                the summed ones are not, e.g. column sums): a run of fp32 accumulators
//                takes one input run per summed position.
// Threads take disjoint parts of the output; every element is summed in one fixed order,
// so the result does not depend on the thread count.
#pragma once

#include "../../core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "../../core/dtype.hpp"
#include "../../core/parallel.hpp"
#include "../../core/threads.hpp"
#include "../../simd/convert.hpp"
#include "../../simd/cpu_features.hpp"
#include "dims.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

inline constexpr std::int64_t kLoopRun = 512;                 // floats per run buffer
inline constexpr std::int64_t kLoopElementsPerThread = 1 << 16;  // below this a thread costs more than it saves

// n values p[0], p[s], ... as fp32.
template <class T>
inline void load_strided(Isa isa, const T* p, std::int64_t s, std::int64_t n, float* out) {
  if (s == 1) {
    convert_to_float(isa, p, out, n);
  } else if (s == 0) {
    std::fill(out, out + n, static_cast<float>(*p));
  } else {
    for (std::int64_t j = 0; j < n; ++j) out[j] = static_cast<float>(p[j * s]);
  }
}
template <class T>
inline void store_strided(Isa isa, const float* v, T* p, std::int64_t s, std::int64_t n) {
  if (s == 1) {
    convert_from_float(isa, v, p, n);
  } else {
    for (std::int64_t j = 0; j < n; ++j) p[j * s] = from_float<T>(v[j]);
  }
}

// Σ_j x[j]·y[j] (y null: Σ x[j]) in fp32 over 16 independent partial sums, which the
// compiler keeps in vector registers; added up in a fixed order.
inline float run_dot(const float* x, const float* y, std::int64_t n) {
  float part[16] = {};
  std::int64_t j = 0;
  if (y) {
    for (; j + 16 <= n; j += 16)
      for (int l = 0; l < 16; ++l) part[l] += x[j + l] * y[j + l];
    for (int l = 0; j < n; ++j, ++l) part[l] += x[j] * y[j];
  } else {
    for (; j + 16 <= n; j += 16)
      for (int l = 0; l < 16; ++l) part[l] += x[j + l];
    for (int l = 0; j < n; ++j, ++l) part[l] += x[j];
  }
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; ++l) part[l] += part[l + w];
  return part[0];
}

template <class T>
void run_loops(const T* a, const T* b, const T* bias, T* c, ProductDims dims) {
  ProductDims out, sum;
  for (const auto& d : dims) {
    if (d.size == 0 && !is_summed(d)) return;  // an empty output
    if (d.size != 1) (is_summed(d) ? sum : out).push_back(d);
  }
  // An empty sum: c = bias (or 0).
  const bool empty_sum = std::any_of(sum.begin(), sum.end(), [](const ProductDim& d) { return d.size == 0; });
  if (empty_sum) sum.clear(), a = nullptr;
  auto c_key = [](const ProductDim& d) { return d.c; };
  auto a_key = [](const ProductDim& d) { return d.a; };
  auto b_key = [](const ProductDim& d) { return d.b; };
  sort_outer_to_inner(out, c_key, a_key);
  sort_outer_to_inner(sum, a_key, b_key);
  merge_dims(out);
  merge_dims(sum);
  if (out.empty()) out.push_back(ProductDim{});  // one output element
  const Isa isa = current_isa();
  auto unit_stride = [&](const ProductDim& d) {
    return d.a >= 0 && d.a <= 1 && (!b || (d.b >= 0 && d.b <= 1));
  };

  // Each mode splits the output into `units` independent parts, handled by body(u).
  const ProductDim run = out.back();  // the innermost output dimension
  const bool along = !sum.empty() && (unit_stride(sum.back()) || !unit_stride(run));
  ProductDims outer(out.begin(), out.end() - (along ? 0 : 1));  // positions a unit walks
  const std::int64_t positions = count_of(outer);
  const std::int64_t work = count_of(out) * std::max<std::int64_t>(count_of(sum), 1);
  const std::int64_t units = std::min<std::int64_t>(positions, std::max<std::int64_t>(1, work / kLoopElementsPerThread));
  const std::int64_t per_unit = (positions + units - 1) / units;
  const int threads = threads_for_call(0, units);

  parallel_for_dynamic(threads, units, [&](std::int64_t u) {
    alignas(64) float fa[kLoopRun], fb[kLoopRun], acc[kLoopRun];
    const std::int64_t p0 = u * per_unit, p1 = std::min(positions, p0 + per_unit);
    DimWalk pos(outer);
    pos.seek(p0);
    if (sum.empty() && !along) {
      // elementwise: c = bias + a·b along the run
      for (std::int64_t p = p0; p < p1; ++p, pos.next()) {
        for (std::int64_t j0 = 0; j0 < run.size; j0 += kLoopRun) {
          const std::int64_t n = std::min(kLoopRun, run.size - j0);
          T* cp = c + pos.c + j0 * run.c;
          if (a && !b && !bias) {
            // a permuted (or diagonal) copy: no trip through fp32
            const T* ap = a + pos.a + j0 * run.a;
            for (std::int64_t j = 0; j < n; ++j) cp[j * run.c] = ap[j * run.a];
            continue;
          }
          if (bias) load_strided(isa, bias + pos.bias + j0 * run.bias, run.bias, n, acc);
          else std::fill(acc, acc + n, 0.0f);
          if (a) {
            load_strided(isa, a + pos.a + j0 * run.a, run.a, n, fa);
            if (b) {
              load_strided(isa, b + pos.b + j0 * run.b, run.b, n, fb);
              for (std::int64_t j = 0; j < n; ++j) acc[j] += fa[j] * fb[j];
            } else {
              for (std::int64_t j = 0; j < n; ++j) acc[j] += fa[j];
            }
          }
          store_strided(isa, acc, cp, run.c, n);
        }
      }
    } else if (along) {
      // along: each output element is a sum of dot products of runs of the summed dimensions
      const ProductDim srun = sum.back();
      const ProductDims souter(sum.begin(), sum.end() - 1);
      const std::int64_t spos = count_of(souter);
      DimWalk s(souter);
      for (std::int64_t p = p0; p < p1; ++p, pos.next()) {
        float total = bias ? static_cast<float>(bias[pos.bias]) : 0.0f;
        s.seek(0);
        for (std::int64_t q = 0; q < spos; ++q, s.next()) {
          for (std::int64_t j0 = 0; j0 < srun.size; j0 += kLoopRun) {
            const std::int64_t n = std::min(kLoopRun, srun.size - j0);
            load_strided(isa, a + pos.a + s.a + j0 * srun.a, srun.a, n, fa);
            if (b) load_strided(isa, b + pos.b + s.b + j0 * srun.b, srun.b, n, fb);
            total += run_dot(fa, b ? fb : nullptr, n);
          }
        }
        c[pos.c] = from_float<T>(total);
      }
    } else {
      // across: a run of accumulators along the innermost output dimension
      const std::int64_t spos = count_of(sum);
      DimWalk s(sum);
      for (std::int64_t p = p0; p < p1; ++p, pos.next()) {
        for (std::int64_t j0 = 0; j0 < run.size; j0 += kLoopRun) {
          const std::int64_t n = std::min(kLoopRun, run.size - j0);
          if (bias) load_strided(isa, bias + pos.bias + j0 * run.bias, run.bias, n, acc);
          else std::fill(acc, acc + n, 0.0f);
          s.seek(0);
          for (std::int64_t q = 0; q < spos; ++q, s.next()) {
            load_strided(isa, a + pos.a + s.a + j0 * run.a, run.a, n, fa);
            if (b) {
              load_strided(isa, b + pos.b + s.b + j0 * run.b, run.b, n, fb);
              for (std::int64_t j = 0; j < n; ++j) acc[j] += fa[j] * fb[j];
            } else {
              for (std::int64_t j = 0; j < n; ++j) acc[j] += fa[j];
            }
          }
          store_strided(isa, acc, c + pos.c + j0 * run.c, run.c, n);
        }
      }
    }
  });
}

}  // namespace detail
TESSEL_NAMESPACE_END
