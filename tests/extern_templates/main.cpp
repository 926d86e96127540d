// A program built the opt-in way of gemm/gemm.hpp: this unit is compiled with
// TESSEL_EXTERN_TEMPLATES (it declares the engine's instantiations extern and compiles none of
// the engine), instantiate.cpp includes <tessel/instantiate.hpp> and holds them. The products
// of small integers are exact, so every dtype must give the exact sums.
#include <tessel/tessel.hpp>

#include <cstdio>

#if !defined(TESSEL_EXTERN_TEMPLATES)
#error "this unit must be built with TESSEL_EXTERN_TEMPLATES"
#endif

template <class T>
bool exact(int m, int n, int k) {
  tessel::Tensor<T, 2> a({m, k}), b({k, n});
  for (int i = 0; i < m; ++i)
    for (int p = 0; p < k; ++p) a(i, p) = tessel::from_float<T>(float((i + 2 * p) % 5 - 2));
  for (int p = 0; p < k; ++p)
    for (int j = 0; j < n; ++j) b(p, j) = tessel::from_float<T>(float((3 * p + j) % 7 - 3));
  const auto c = tessel::matmul(a, b);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double want = 0;
      for (int p = 0; p < k; ++p) want += double((i + 2 * p) % 5 - 2) * double((3 * p + j) % 7 - 3);
      if (double(tessel::to_float(c(i, j))) != want) return false;
    }
  return true;
}

int main() {
  int failures = 0;
  for (tessel::Isa isa : tessel::available_isas()) {
    tessel::set_isa(isa);
    const bool ok = exact<float>(37, 45, 20) && exact<tessel::float16>(20, 33, 9) && exact<tessel::bfloat16>(19, 40, 11);
    std::printf("%s %s\n", ok ? "PASS" : "FAIL", std::string(tessel::isa_name(isa)).c_str());
    failures += !ok;
  }
  return failures == 0 ? 0 : 1;
}
