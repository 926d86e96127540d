// Two translation units that include the engine with different -m flags, linked into one
// program (tessel/simd/target.hpp): the -mavx2 TU's inline functions are compiled with
// AVX2 everywhere, the default TU's are not. If both sets shared symbols, the linker would
// keep one copy, and the default TU could end up running AVX2 code on a CPU without it (or
// the other way round, the wrong kernels). tessel puts each TU's engine in a namespace named
// after its flags (flags_base, flags_avx2: `nm -C` on the two objects shows them), so both
// copies survive; this checks that both compute the exact result on every path the CPU has.
//
// Exit code 0: pass. (A plain program, not Catch2: the point is the link itself.)
#include <tessel/simd/cpu_features.hpp>

#include <cstdio>
#include <cstdlib>

float tu_default_gemm(tessel::Isa isa, int m, int n, int k);
float tu_avx2_gemm(tessel::Isa isa, int m, int n, int k);

int main() {
  const auto& f = tessel::cpu_features();
  if (!f.has_avx2_path()) {
    std::puts("skipped: the CPU lacks AVX2, the -mavx2 translation unit cannot run");
    return 0;
  }
  int failures = 0;
  for (tessel::Isa isa : {tessel::Isa::scalar, tessel::Isa::avx2, tessel::Isa::avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(f.best_isa())) continue;
    for (int k : {1, 100, 700}) {
      const int m = 37, n = 45;
      double expect = 0;  // Σ_ij Σ_p a_ip b_pj with small integers: exact in float
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j)
          for (int p = 0; p < k; ++p) expect += double((i * k + p) % 7 - 3) * double((p * n + j) % 5 - 2);
      const float x = tu_default_gemm(isa, m, n, k), y = tu_avx2_gemm(isa, m, n, k);
      if (x != float(expect) || y != float(expect)) {
        std::printf("FAIL isa %s k %d: default TU %g, avx2 TU %g, expected %g\n",
                    std::string(tessel::isa_name(isa)).c_str(), k, x, y, expect);
        ++failures;
      }
    }
  }
  std::printf("%s\n", failures ? "FAILED" : "passed");
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
