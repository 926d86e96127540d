// examples/multi_head.cpp — a tour of tessel's two functions, checked against naive loops.
//
//   O2 = matmul_with_multi_head(A1 [b,s,h], W1 [h,e], nh)            -> [b,s,nh,e]
//   r  = matmul_with_importance(A1, W1, P [b,s], nh, {top_p, top_k})  -> r.output O3 [t,nh,e]
//   r  = matmul_with_importance(..., dO3)    also r.grad_input dA1 [b,s,h], r.grad_weight dW1 [h,e]
//
// For float, float16 and bfloat16 it runs each call, compares every output element with an
// fp64 loop written below (within a bound that allows fp32 accumulation and one final
// rounding to the dtype), and prints the error, the time and the GFLOP/s. Exits 1 if any
// check fails.
//
//   cmake --preset release && cmake --build --preset release && build/release/examples/multi_head
//   or:  g++ -std=c++20 -O2 -fopenmp -I include examples/multi_head.cpp -o multi_head && ./multi_head
#include <tessel/tessel.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using tessel::bfloat16;
using tessel::float16;

constexpr std::int64_t b = 2, s = 128, h = 256, nh = 4, e = 256, hd = h / nh;
const tessel::ImportanceOptions options{.top_p = 0.25, .top_k = 48};

// A small portable random generator (splitmix64), so every platform sees the same data.
struct Random {
  std::uint64_t state;
  double uniform() {  // [0, 1)
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
};

template <class T> const char* dtype_name();
template <> const char* dtype_name<float>() { return "float"; }
template <> const char* dtype_name<float16>() { return "float16"; }
template <> const char* dtype_name<bfloat16>() { return "bfloat16"; }

// Unit roundoff of T: the relative error of one rounding to T.
template <class T> constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, float>) return 0x1p-24;
  else if constexpr (std::is_same_v<T, float16>) return 0x1p-11;
  else return 0x1p-8;
}

// A tensor of T filled from `rng`, values in [lo, hi) rounded to T.
template <class T, std::size_t R>
tessel::Tensor<T, R> random_tensor(std::array<std::int64_t, R> shape, Random& rng, double lo, double hi) {
  tessel::Tensor<T, R> t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = T(lo + (hi - lo) * rng.uniform());
  return t;
}
template <class T> double d(T x) { return static_cast<double>(static_cast<float>(x)); }

// Compares out with the fp64 reference ref, a sum of k terms whose absolute values sum to
// absum. Bound: one rounding to T (half an ulp, u·|ref|) plus fp32 accumulation error
// (2·k·2⁻²⁴·Σ|terms|). Unselected rows of dA1 have k terms but absum = 0: exactly zero.
struct Check {
  double max_err = 0, worst = 0;  // max |out − ref|, max |out − ref| / bound
  template <class T>
  void add(T out, double ref, double absum, std::int64_t k) {
    const double err = std::abs(d(out) - ref);
    const double bound = unit_roundoff<T>() * std::abs(ref) + 2.0 * k * 0x1p-24 * absum + 1e-30;
    max_err = std::max(max_err, std::isnan(err) ? INFINITY : err);
    worst = std::max(worst, std::isnan(err) ? INFINITY : err / bound);
  }
  void merge(const Check& o) { max_err = std::max(max_err, o.max_err), worst = std::max(worst, o.worst); }
  bool ok() const { return worst <= 1.0; }
};

// Milliseconds of the fastest of `reps` runs of f.
template <class F> double best_ms(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

bool all_ok = true;
void report(const char* dtype, const char* call, const Check& c, double ms, double flops) {
  std::printf("%-9s %-26s %9.2e %8.3f %9.3f %8.1f  %s\n", dtype, call, c.max_err, c.worst, ms, flops / ms * 1e-6,
              c.ok() ? "ok" : "FAILED");
  all_ok = all_ok && c.ok();
}

// The naive selection of SPEC §2: P[i,j] >= T(top_p) and fewer than top_k entries of row i
// rank before j (larger first, NaN first, lower index first among equals).
template <class T>
std::vector<std::int64_t> naive_selection(const tessel::Tensor<T, 2>& P) {
  const double threshold = d(T(options.top_p));
  std::vector<std::int64_t> sel;
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j) {
      std::int64_t before = 0;
      for (std::int64_t q = 0; q < s; ++q) before += d(P(i, q)) > d(P(i, j)) || (d(P(i, q)) == d(P(i, j)) && q < j);
      if (d(P(i, j)) >= threshold && before < options.top_k.value_or(s)) sel.push_back(i * s + j);
    }
  return sel;
}

template <class T>
void run(std::uint64_t seed) {
  const char* name = dtype_name<T>();
  Random rng{seed};
  const auto A1 = random_tensor<T, 3>({b, s, h}, rng, -1, 1);
  const auto W1 = random_tensor<T, 2>({h, e}, rng, -1, 1);
  const auto P = random_tensor<T, 2>({b, s}, rng, 0, 1);

  // --- multi-head: O2[i,j,n,c] = Σ_k A1[i,j,n·hd+k] · W1[n·hd+k, c]
  tessel::Tensor<T, 4> O2({1, 1, 1, 1});
  const double ms_mh = best_ms(5, [&] { O2 = tessel::matmul_with_multi_head(A1, W1, nh); });
  Check c_mh;
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j)
      for (std::int64_t n = 0; n < nh; ++n)
        for (std::int64_t c = 0; c < e; ++c) {
          double acc = 0, abs = 0;
          for (std::int64_t k = 0; k < hd; ++k) {
            const double term = d(A1(i, j, n * hd + k)) * d(W1(n * hd + k, c));
            acc += term, abs += std::abs(term);
          }
          c_mh.add(O2(i, j, n, c), acc, abs, hd);
        }
  report(name, "matmul_with_multi_head", c_mh, ms_mh, 2.0 * b * s * h * e);

  // --- the selection, checked against the naive rule
  const std::vector<std::int64_t> sel = tessel::select_important(P, options);
  const auto t = static_cast<std::int64_t>(sel.size());
  const bool sel_ok = sel == naive_selection(P);
  all_ok = all_ok && sel_ok;
  std::string first;
  for (std::int64_t r = 0; r < std::min<std::int64_t>(t, 8); ++r) first += " " + std::to_string(sel[r]);
  std::printf("%-9s selection: t = %lld of %lld rows, positions%s ...  %s\n", name, static_cast<long long>(t),
              static_cast<long long>(b * s), first.c_str(), sel_ok ? "ok" : "FAILED");

  // --- importance forward: O3[r,n,c] = Σ_k A1[sel[r], n·hd+k] · W1[n·hd+k, c]
  tessel::ImportanceResult<T> fwd;
  const double ms_fwd = best_ms(5, [&] { fwd = tessel::matmul_with_importance(A1, W1, P, nh, options); });
  Check c_fwd;
  c_fwd.worst = fwd.selected == sel && !fwd.grad_input && !fwd.grad_weight ? 0 : INFINITY;
  for (std::int64_t r = 0; r < t; ++r)
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t c = 0; c < e; ++c) {
        double acc = 0, abs = 0;
        for (std::int64_t k = 0; k < hd; ++k) {
          const double term = d(A1.data()[sel[r] * h + n * hd + k]) * d(W1(n * hd + k, c));
          acc += term, abs += std::abs(term);
        }
        c_fwd.add(fwd.output(r, n, c), acc, abs, hd);
      }
  report(name, "matmul_with_importance", c_fwd, ms_fwd, 2.0 * t * h * e);

  // --- importance forward + backward, with a random upstream gradient dO3 [t, nh, e]
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, rng, -1, 1);
  tessel::ImportanceResult<T> g;
  const double ms_bwd = best_ms(5, [&] { g = tessel::matmul_with_importance(A1, W1, P, nh, options, dO3); });
  Check c_o3, c_da, c_dw;
  for (std::int64_t r = 0; r < t; ++r)  // O3 must be the same as without gradients
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t c = 0; c < e; ++c)
        c_o3.worst = std::max(c_o3.worst, d(g.output(r, n, c)) == d(fwd.output(r, n, c)) ? 0.0 : INFINITY);
  std::vector<std::int64_t> row_of(b * s, -1);  // flat position -> selected row r, or -1
  for (std::int64_t r = 0; r < t; ++r) row_of[sel[r]] = r;
  for (std::int64_t q = 0; q < b * s; ++q)  // dA1[q, n·hd+k] = Σ_c dO3[r,n,c] · W1[n·hd+k, c]
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t k = 0; k < hd; ++k) {
        double acc = 0, abs = 0;
        for (std::int64_t c = 0; row_of[q] >= 0 && c < e; ++c) {
          const double term = d(dO3(row_of[q], n, c)) * d(W1(n * hd + k, c));
          acc += term, abs += std::abs(term);
        }
        c_da.add(g.grad_input->data()[q * h + n * hd + k], acc, abs, e);  // unselected: must be exactly 0
      }
  for (std::int64_t n = 0; n < nh; ++n)  // dW1[n·hd+k, c] = Σ_r A1[sel[r], n·hd+k] · dO3[r,n,c]
    for (std::int64_t k = 0; k < hd; ++k)
      for (std::int64_t c = 0; c < e; ++c) {
        double acc = 0, abs = 0;
        for (std::int64_t r = 0; r < t; ++r) {
          const double term = d(A1.data()[sel[r] * h + n * hd + k]) * d(dO3(r, n, c));
          acc += term, abs += std::abs(term);
        }
        c_dw.add((*g.grad_weight)(n * hd + k, c), acc, abs, t);
      }
  Check all = c_o3;
  all.merge(c_da), all.merge(c_dw);
  report(name, "  ... with grad (dA1, dW1)", all, ms_bwd, 3 * 2.0 * t * h * e);
}

}  // namespace

int main() {
  std::printf("tessel example: multi-head and importance matmul, checked against fp64 loops\n");
  std::printf("A1 [%lld, %lld, %lld]  W1 [%lld, %lld]  P [%lld, %lld]  nh = %lld (hd = %lld)  ->  O2 [%lld, %lld, %lld, %lld]\n",
              (long long)b, (long long)s, (long long)h, (long long)h, (long long)e, (long long)b, (long long)s,
              (long long)nh, (long long)hd, (long long)b, (long long)s, (long long)nh, (long long)e);
  std::printf("importance: top_p = %.2f, top_k = %lld  ->  O3 [t, %lld, %lld], dA1 [%lld, %lld, %lld], dW1 [%lld, %lld]\n",
              options.top_p, (long long)*options.top_k, (long long)nh, (long long)e, (long long)b, (long long)s,
              (long long)h, (long long)h, (long long)e);
  std::printf("isa: %s   threads: %d   (TESSEL_ISA=scalar|avx2|avx512, TESSEL_NUM_THREADS=n)\n\n",
              std::string(tessel::active_isa()).c_str(), tessel::get_num_threads());
  std::printf("%-9s %-26s %9s %8s %9s %8s\n", "dtype", "call", "max|err|", "err/bnd", "best ms", "GFLOP/s");
  run<float>(42);
  run<float16>(42);
  run<bfloat16>(42);
  std::printf("\nerr/bnd <= 1: within half an ulp of the dtype plus fp32 accumulation error (2k 2^-24 sum|terms|)\n");
  std::printf("%s\n", all_ok ? "all checks passed" : "SOME CHECKS FAILED");
  return all_ok ? 0 : 1;
}
