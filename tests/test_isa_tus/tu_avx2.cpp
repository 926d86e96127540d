// Built with -mavx2 -mfma -mf16c: its inline engine functions live in tessel's flags_avx2
// namespace and must not be merged with the default-flag TU's (see main.cpp).
#include <tessel/gemm/gemm.hpp>

#include <vector>

float tu_avx2_gemm(tessel::Isa isa, int m, int n, int k) {
  using namespace tessel::detail;
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (int i = 0; i < m * k; ++i) a[i] = float(i % 7) - 3;
  for (int i = 0; i < k * n; ++i) b[i] = float(i % 5) - 2;
  GemmProblem<float> p;
  p.m = m, p.n = n, p.k = k;
  p.a = {a.data(), 0, Axis::strided(k), Axis::strided(1)};
  p.b = {b.data(), 0, Axis::strided(n), Axis::strided(1)};
  p.c = {c.data(), 0, Axis::strided(n), Axis::strided(1)};
  gemm_on(isa, p);
  float s = 0;
  for (float v : c) s += v;
  return s;
}
