// tests/support/reference.hpp — fp64 reference loops for tessel's public operations, and
// the tolerance rule the tests judge them by.
//
// Everything here is written from SPEC §1–3 as plain index loops over dense double copies
// of the inputs; it shares no code with tessel's engine or its selection:
//   * the inputs are read element by element through TensorView::operator() (any strides)
//     into row-major double arrays;
//   * the selection ranks each row with a full std::stable_sort (NaN first, larger first,
//     equal values in index order) and rounds top_p to T with its own rounding routine;
//   * the products are summed in double, together with Σ|products| (the magnitude).
//
// Tolerance (per element), K the reduction length:
//     |ours − ref| ≤ ulp_T(ref) + 2·sqrt(K)·2^-24·Σ|products|
// and an element whose reference is an exact zero with zero magnitude (no products at
// all, e.g. the unselected rows of dA1 or dW1 for t = 0) must be exactly ±0.
#pragma once

#include <tessel/tessel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace tessel_test {

using tessel::bfloat16;
using tessel::float16;

// ---------------------------------------------------------------- element helpers

template <class T>
double to_double(T x) {
  return static_cast<double>(static_cast<float>(x));
}
template <class T>
T from_double(double x) {
  if constexpr (std::is_same_v<T, float>) return static_cast<float>(x);
  else return T(x);
}
// The test's own table of the element types (written from IEEE 754 and the bfloat16
// definition, not read from tessel): name, precision (significand bits with the implicit
// one) and smallest normal exponent.
template <class T>
struct TypeFacts {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, float16> || std::is_same_v<T, bfloat16>,
                "reference.hpp knows float, float16 and bfloat16 only");
  static constexpr const char* name = std::is_same_v<T, float> ? "float" : std::is_same_v<T, float16> ? "float16" : "bfloat16";
  static constexpr int precision = std::is_same_v<T, float> ? 24 : std::is_same_v<T, float16> ? 11 : 8;
  static constexpr int emin = std::is_same_v<T, float16> ? -14 : -126;
};
template <class T>
const char* type_name() {
  return TypeFacts<T>::name;
}
template <class T>
constexpr int precision_of() {
  return TypeFacts<T>::precision;
}
template <class T>
constexpr int emin_of() {
  return TypeFacts<T>::emin;
}

// Spacing of T's grid at |x| (subnormals included).
template <class T>
double ulp_of(double x) {
  int e = emin_of<T>();
  const double a = std::fabs(x);
  if (a > 0 && std::isfinite(a)) {
    int ex = 0;
    std::frexp(a, &ex);  // a in [2^(ex-1), 2^ex)
    e = std::max(ex - 1, emin_of<T>());
  }
  return std::ldexp(1.0, e - (precision_of<T>() - 1));
}

// x (finite, within T's range) rounded to T's grid, to nearest with ties to even: written
// independently of tessel's conversions (used for the threshold top_p).
template <class T>
double round_to_grid(double x) {
  const double q = ulp_of<T>(x);
  return std::nearbyint(x / q) * q;  // the default rounding mode is to-nearest-even
}

// Bitwise equality of two element ranges.
template <class T>
bool same_bits(const T* a, const T* b, std::int64_t n) {
  return n == 0 || std::memcmp(a, b, sizeof(T) * static_cast<std::size_t>(n)) == 0;
}
template <class T, std::size_t R>
bool same_bits(const tessel::Tensor<T, R>& a, const tessel::Tensor<T, R>& b) {
  return a.shape() == b.shape() && same_bits(a.data(), b.data(), a.numel());
}

// ---------------------------------------------------------------- random data

// A tensor of uniform values in [lo, hi), rounded to T; the seed fixes the values.
template <class T, std::size_t R>
tessel::Tensor<T, R> random_tensor(std::array<std::int64_t, R> shape, std::uint32_t seed, double lo = -1.0,
                                   double hi = 1.0) {
  tessel::Tensor<T, R> t(shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  T* p = t.data();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = from_double<T>(dist(gen));
  return t;
}

// Writes src's elements (any strides) into dst's positions: the same values, dst's layout.
template <class T, std::size_t R>
void copy_values(tessel::TensorView<const T, R> src, tessel::TensorView<T, R> dst) {
  dst.copy_(src);
}

// ---------------------------------------------------------------- dense double copies

struct Dense {
  std::vector<std::int64_t> shape;
  std::vector<double> v;
};

template <class T>
Dense dense(tessel::TensorView<T, 1> x) {
  Dense d{{x.size(0)}, {}};
  for (std::int64_t i = 0; i < x.size(0); ++i) d.v.push_back(to_double(x(i)));
  return d;
}
template <class T>
Dense dense(tessel::TensorView<T, 2> x) {
  Dense d{{x.size(0), x.size(1)}, {}};
  d.v.reserve(static_cast<std::size_t>(x.numel()));
  for (std::int64_t i = 0; i < x.size(0); ++i)
    for (std::int64_t j = 0; j < x.size(1); ++j) d.v.push_back(to_double(x(i, j)));
  return d;
}
template <class T>
Dense dense(tessel::TensorView<T, 3> x) {
  Dense d{{x.size(0), x.size(1), x.size(2)}, {}};
  d.v.reserve(static_cast<std::size_t>(x.numel()));
  for (std::int64_t i = 0; i < x.size(0); ++i)
    for (std::int64_t j = 0; j < x.size(1); ++j)
      for (std::int64_t k = 0; k < x.size(2); ++k) d.v.push_back(to_double(x(i, j, k)));
  return d;
}
template <class T>
Dense dense(tessel::TensorView<T, 4> x) {
  Dense d{{x.size(0), x.size(1), x.size(2), x.size(3)}, {}};
  d.v.reserve(static_cast<std::size_t>(x.numel()));
  for (std::int64_t i = 0; i < x.size(0); ++i)
    for (std::int64_t j = 0; j < x.size(1); ++j)
      for (std::int64_t k = 0; k < x.size(2); ++k)
        for (std::int64_t l = 0; l < x.size(3); ++l) d.v.push_back(to_double(x(i, j, k, l)));
  return d;
}
template <class T, std::size_t R>
Dense dense(const tessel::Tensor<T, R>& x) {
  return dense(x.view());
}

// ---------------------------------------------------------------- reference results

// An fp64 result: values, Σ|products| per element, and the reduction length K.
struct Ref {
  std::vector<std::int64_t> shape;
  std::vector<double> val, mag;
  std::int64_t K = 0;
};

// Plain matmul: A [g or 1, m, k] · B [g or 1, k, n] (rank-2 operands are passed with g = 1).
inline Ref ref_matmul(const Dense& A, const Dense& B) {
  const bool a3 = A.shape.size() == 3, b3 = B.shape.size() == 3;
  const std::int64_t ga = a3 ? A.shape[0] : 1, gb = b3 ? B.shape[0] : 1;
  const std::int64_t m = A.shape[a3 ? 1 : 0], k = A.shape[a3 ? 2 : 1], n = B.shape[b3 ? 2 : 1];
  const std::int64_t g = std::max(ga, gb);
  Ref r;
  r.shape = a3 || b3 ? std::vector<std::int64_t>{g, m, n} : std::vector<std::int64_t>{m, n};
  r.val.assign(static_cast<std::size_t>(g * m * n), 0.0);
  r.mag = r.val;
  r.K = k;
  for (std::int64_t q = 0; q < g; ++q) {
    const double* a = A.v.data() + (ga == 1 ? 0 : q) * m * k;
    const double* b = B.v.data() + (gb == 1 ? 0 : q) * k * n;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double s = 0, mg = 0;
        for (std::int64_t l = 0; l < k; ++l) {
          const double p = a[i * k + l] * b[l * n + j];
          s += p;
          mg += std::fabs(p);
        }
        r.val[static_cast<std::size_t>((q * m + i) * n + j)] = s;
        r.mag[static_cast<std::size_t>((q * m + i) * n + j)] = mg;
      }
  }
  return r;
}

// O[r, n, c] = Σ_k A1[row r, n·hd + k] · W1[n·hd + k, c] over the given flat rows of A1.
inline Ref ref_heads(const Dense& A1, const Dense& W1, std::int64_t nh, const std::vector<std::int64_t>& rows) {
  const std::int64_t h = A1.shape[2], e = W1.shape[1], hd = h / nh;
  const auto t = static_cast<std::int64_t>(rows.size());
  Ref r;
  r.shape = {t, nh, e};
  r.val.assign(static_cast<std::size_t>(t * nh * e), 0.0);
  r.mag = r.val;
  r.K = hd;
  for (std::int64_t q = 0; q < t; ++q)
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t c = 0; c < e; ++c) {
        double s = 0, mg = 0;
        for (std::int64_t k = 0; k < hd; ++k) {
          const double p = A1.v[static_cast<std::size_t>(rows[q] * h + n * hd + k)] *
                           W1.v[static_cast<std::size_t>((n * hd + k) * e + c)];
          s += p;
          mg += std::fabs(p);
        }
        r.val[static_cast<std::size_t>((q * nh + n) * e + c)] = s;
        r.mag[static_cast<std::size_t>((q * nh + n) * e + c)] = mg;
      }
  return r;
}

// SPEC §1: O2 [b, s, nh, e].
inline Ref ref_multi_head(const Dense& A1, const Dense& W1, std::int64_t nh) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(A1.shape[0] * A1.shape[1]));
  std::iota(all.begin(), all.end(), 0);
  Ref r = ref_heads(A1, W1, nh, all);
  r.shape = {A1.shape[0], A1.shape[1], nh, W1.shape[1]};
  return r;
}

// SPEC §2: the selected flat positions i·s + j, ascending. P holds T's values (exactly,
// as doubles); the threshold is top_p rounded to float, then to T, as PyTorch does; top_k < 0
// means none (s).
template <class T>
std::vector<std::int64_t> ref_select(const Dense& P, double top_p, std::int64_t top_k) {
  const std::int64_t b = P.shape[0], s = P.shape[1];
  // PyTorch casts the Python float to T through float (c10::BFloat16/Half take a float).
  const double threshold = round_to_grid<T>(round_to_grid<float>(top_p));
  const std::int64_t k = top_k < 0 ? s : top_k;
  std::vector<std::int64_t> sel;
  for (std::int64_t i = 0; i < b; ++i) {
    const double* row = P.v.data() + i * s;
    std::vector<std::int64_t> order(static_cast<std::size_t>(s));
    std::iota(order.begin(), order.end(), 0);
    // A stable sort keeps equal values (and NaNs among themselves) in index order.
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) {
      const bool nx = std::isnan(row[x]), ny = std::isnan(row[y]);
      if (nx || ny) return nx && !ny;
      return row[x] > row[y];
    });
    std::vector<char> keep(static_cast<std::size_t>(s), 0);
    for (std::int64_t r = 0; r < k; ++r) keep[static_cast<std::size_t>(order[r])] = 1;
    for (std::int64_t j = 0; j < s; ++j)
      if (keep[static_cast<std::size_t>(j)] && row[j] >= threshold) sel.push_back(i * s + j);  // NaN fails
  }
  return sel;
}

// SPEC §2: O3 [t, nh, e].
inline Ref ref_importance_forward(const Dense& A1, const Dense& W1, std::int64_t nh,
                                  const std::vector<std::int64_t>& sel) {
  return ref_heads(A1, W1, nh, sel);
}

// SPEC §3: dA1 [b, s, h]; rows not selected are exact zeros (K = e).
inline Ref ref_grad_input(const Dense& W1, std::int64_t nh, const std::vector<std::int64_t>& sel, const Dense& dO3,
                          std::int64_t b, std::int64_t s) {
  const std::int64_t h = W1.shape[0], e = W1.shape[1], hd = h / nh;
  Ref r;
  r.shape = {b, s, h};
  r.val.assign(static_cast<std::size_t>(b * s * h), 0.0);
  r.mag = r.val;
  r.K = e;
  for (std::size_t q = 0; q < sel.size(); ++q)
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t k = 0; k < hd; ++k) {
        double acc = 0, mg = 0;
        for (std::int64_t c = 0; c < e; ++c) {
          const double p = dO3.v[static_cast<std::size_t>((static_cast<std::int64_t>(q) * nh + n) * e + c)] *
                           W1.v[static_cast<std::size_t>((n * hd + k) * e + c)];
          acc += p;
          mg += std::fabs(p);
        }
        r.val[static_cast<std::size_t>(sel[q] * h + n * hd + k)] = acc;
        r.mag[static_cast<std::size_t>(sel[q] * h + n * hd + k)] = mg;
      }
  return r;
}

// SPEC §3: dW1 [h, e]; exact zeros when nothing is selected (K = t).
inline Ref ref_grad_weight(const Dense& A1, std::int64_t nh, const std::vector<std::int64_t>& sel, const Dense& dO3) {
  const std::int64_t h = A1.shape[2], e = dO3.shape[2], hd = h / nh;
  Ref r;
  r.shape = {h, e};
  r.val.assign(static_cast<std::size_t>(h * e), 0.0);
  r.mag = r.val;
  r.K = static_cast<std::int64_t>(sel.size());
  for (std::int64_t n = 0; n < nh; ++n)
    for (std::int64_t k = 0; k < hd; ++k)
      for (std::int64_t c = 0; c < e; ++c) {
        double acc = 0, mg = 0;
        for (std::size_t q = 0; q < sel.size(); ++q) {
          const double p = A1.v[static_cast<std::size_t>(sel[q] * h + n * hd + k)] *
                           dO3.v[static_cast<std::size_t>((static_cast<std::int64_t>(q) * nh + n) * e + c)];
          acc += p;
          mg += std::fabs(p);
        }
        r.val[static_cast<std::size_t>((n * hd + k) * e + c)] = acc;
        r.mag[static_cast<std::size_t>((n * hd + k) * e + c)] = mg;
      }
  return r;
}

// ---------------------------------------------------------------- tolerance

struct Verdict {
  std::int64_t checked = 0, failed = 0;
  std::string first;  // the first failing element, described
  bool ok() const { return failed == 0; }
};

// Judges values of T (as doubles, row-major) against `ref` element by element; the
// per-product term is per_product·sqrt(K)·Σ|products| (2·2^-24 is the strict rule). The
// shapes must agree (a shape mismatch fails every element).
template <class T>
Verdict judge_values(const Dense& d, const Ref& ref, double per_product = std::ldexp(2.0, -24)) {
  Verdict v;
  if (d.shape != ref.shape) {
    v.failed = 1;
    v.first = "shape differs from the reference";
    return v;
  }
  const double K = static_cast<double>(std::max<std::int64_t>(ref.K, 1));
  for (std::size_t i = 0; i < d.v.size(); ++i) {
    ++v.checked;
    const double x = d.v[i], r = ref.val[i], m = ref.mag[i];
    bool good;
    if (r == 0.0 && m == 0.0) good = x == 0.0;  // no products at all: exactly zero
    else good = std::fabs(x - r) <= ulp_of<T>(r) + per_product * std::sqrt(K) * m;  // false for NaN
    if (!good && v.failed++ == 0) {
      std::ostringstream os;
      os.precision(10);
      os << "flat element " << i << ": ours " << x << ", fp64 " << r << ", magnitude " << m << ", K " << ref.K;
      v.first = os.str();
    }
  }
  return v;
}

// Judges `ours` (any strides, T elements) against `ref` by the strict rule.
template <class T, std::size_t R>
Verdict judge(tessel::TensorView<const T, R> ours, const Ref& ref) {
  return judge_values<T>(dense(ours), ref);
}
template <class T, std::size_t R>
Verdict judge(const tessel::Tensor<T, R>& ours, const Ref& ref) {
  return judge<T, R>(ours.view(), ref);
}
template <class T, std::size_t R>
Verdict judge(tessel::TensorView<T, R> ours, const Ref& ref)
  requires(!std::is_const_v<T>)
{
  return judge<T, R>(tessel::TensorView<const T, R>(ours), ref);
}

using tessel::available_isas;  // the ISA paths this CPU has (always the scalar one)

// Restores the ISA and thread settings when a test leaves its scope (also on failure).
class SettingsGuard {
 public:
  SettingsGuard() : isa_(tessel::current_isa()) {}
  ~SettingsGuard() {
    tessel::set_isa(isa_);
    tessel::set_num_threads(0);
  }
  SettingsGuard(const SettingsGuard&) = delete;
  SettingsGuard& operator=(const SettingsGuard&) = delete;

 private:
  tessel::Isa isa_;
};

}  // namespace tessel_test
