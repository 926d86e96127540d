// tessel/ops/selection.hpp — SPEC §2: which positions (i, j) of P [b, s] are important.
//
// Position (i, j) is selected iff
//   1. P[i,j] >= top_p, compared in T: the threshold is rounded to T first, as PyTorch does
//      (bfloat16 P = 0.69921875 passes top_p = 0.7, since bfloat16(0.7) == 0.69921875);
//      NaN never passes;
//   2. j is among the top_k largest entries of row i: larger first, NaN above every number
//      (as torch.topk), and among equal values the lower index first (deterministic where
//      PyTorch leaves ties unspecified).
// The result lists flat positions i·s + j in ascending order. Ranking uses a selection
// algorithm (std::nth_element: linear time per row on average, no full sort), rows run in
// parallel, and the output order does not depend on the thread count.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/error.hpp"
#include "../core/parallel.hpp"
#include "../core/tensor_view.hpp"
#include "../core/threads.hpp"

TESSEL_NAMESPACE_BEGIN

struct ImportanceOptions {
  double top_p = 1.0;
  std::optional<std::int64_t> top_k;  // none: s (every position)
};

namespace detail {

inline void check_options(std::string_view fn, const ImportanceOptions& opt, std::int64_t s) {
  check(opt.top_p >= 0.0 && opt.top_p <= 1.0, fn, "top_p must be in [0, 1], got ", opt.top_p);  // false for NaN
  if (opt.top_k)
    check(*opt.top_k >= 1 && *opt.top_k <= s, fn, "top_k must be in [1, s] = [1, ", s, "] for P's sequence length ",
          s, ", got ", *opt.top_k);
}

// The threshold as PyTorch rounds it, returned as the float it equals exactly. PyTorch casts
// the Python float (a double) to the tensor's dtype through float (c10::Half and
// c10::BFloat16 are constructed from float), so a threshold within a hair of a midpoint
// between two T values can round differently than a direct double -> T rounding would;
// tessel follows PyTorch here.
template <class T>
float threshold_in(double top_p) {
  const float f = static_cast<float>(top_p);
  if constexpr (std::is_same_v<T, float>) return f;
  else return static_cast<float>(T(f));
}

// Ranking of SPEC §2: true when position x ranks before position y.
struct RanksBefore {
  const float* value;
  bool operator()(std::int64_t x, std::int64_t y) const {
    const float vx = value[x], vy = value[y];
    const bool nx = std::isnan(vx), ny = std::isnan(vy);
    if (nx != ny) return nx;                     // NaN first
    if (!nx && vx != vy) return vx > vy;         // larger first
    return x < y;                                // ties (and NaN vs NaN): lower index first
  }
};

// Marks row i's selected positions in mask[0, s). `values` and `order` are scratch of size s.
template <class T>
void select_row(TensorView<const T, 1> row, float threshold, std::int64_t top_k, float* values, std::int64_t* order,
                std::uint8_t* mask) {
  const std::int64_t s = row.size(0);
  for (std::int64_t j = 0; j < s; ++j) {
    values[j] = static_cast<float>(row(j));
    mask[j] = values[j] >= threshold ? 1 : 0;  // NaN compares false
  }
  if (top_k >= s) return;
  // Keep the threshold's verdict only for the top_k best ranked positions.
  for (std::int64_t j = 0; j < s; ++j) order[j] = j;
  std::nth_element(order, order + top_k, order + s, RanksBefore{values});
  for (std::int64_t r = top_k; r < s; ++r) mask[order[r]] = 0;
}

}  // namespace detail

namespace detail {

// select_important(_into) under the caller's name `fn`. On an exception (bad options, or
// std::bad_alloc) `selected` is left as it was.
template <class T>
void select_important_as(std::string_view fn, TensorView<const T, 2> P, const ImportanceOptions& options,
                         std::vector<std::int64_t>& selected) {
  const std::int64_t b = P.size(0), s = P.size(1);
  check_options(fn, options, s);
  const std::int64_t top_k = options.top_k.value_or(s);
  const float threshold = threshold_in<T>(options.top_p);
  // Scratch is thread_local and only grows, so a steady-state caller allocates nothing here.
  // (A failed resize leaves a vector as it was; b·s fits, P's shape being valid.)
  thread_local std::vector<std::uint8_t> mask_storage;
  mask_storage.resize(static_cast<std::size_t>(b * s));
  std::uint8_t* mask = mask_storage.data();
  const int threads = threads_for_call(0, (b * s) / 16384 + 1);
  auto run_rows = [&](std::int64_t first, std::int64_t step) {
    thread_local std::vector<float> values;
    thread_local std::vector<std::int64_t> order;
    values.resize(static_cast<std::size_t>(s));
    order.resize(top_k < s ? static_cast<std::size_t>(s) : 0);
    for (std::int64_t i = first; i < b; i += step)
      select_row<T>(P.select(0, i), threshold, top_k, values.data(), order.data(), mask + i * s);
  };
  // (parallel_region carries an exception of any thread, e.g. a failed resize, out.)
  parallel_region(threads, [&](int thread, int count) { run_rows(thread, count); });
  std::size_t count = 0;
  for (std::int64_t q = 0; q < b * s; ++q) count += mask[q];
  selected.reserve(count);  // the only step that can fail from here on, before `selected` changes
  selected.clear();
  for (std::int64_t q = 0; q < b * s; ++q)
    if (mask[q]) selected.push_back(q);
}

}  // namespace detail

// The flat positions i·s + j (ascending) of the important rows of P [b, s], written into
// `selected` (its capacity is reused, so a caller running the same shapes never allocates).
template <ElementType T>
void select_important_into(TensorView<const T, 2> P, ImportanceOptions options, std::vector<std::int64_t>& selected) {
  detail::select_important_as<T>("select_important_into", P, options, selected);
}

template <ElementType T>
std::vector<std::int64_t> select_important(TensorView<const T, 2> P, ImportanceOptions options = {}) {
  std::vector<std::int64_t> selected;
  detail::select_important_as<T>("select_important", P, options, selected);
  return selected;
}

template <TensorLike X>
  requires(rank_of_v<X> == 2)
void select_important_into(const X& P, ImportanceOptions options, std::vector<std::int64_t>& selected) {
  select_important_into<element_of_t<X>>(as_const_view(P), options, selected);
}

template <TensorLike X>
  requires(rank_of_v<X> == 2)
std::vector<std::int64_t> select_important(const X& P, ImportanceOptions options = {}) {
  return select_important<element_of_t<X>>(as_const_view(P), options);
}

TESSEL_NAMESPACE_END
