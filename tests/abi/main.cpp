// Three translation units that include tessel with different flags, linked into one program
// (core/config.hpp explains the danger): the default unit, one with instruction-set flags the
// default lacks, and one in the other bounds-checking mode. Each must run its own copy of the
// library, in its own ABI namespace, and compute the exact result on every kernel path the
// CPU has. check_abi_symbols.cmake checks the same objects' symbols with nm.
//
// Exit code 0: pass; 77: skipped (the CPU cannot run the instruction-set unit).
#include <tessel/simd/isa_registry.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

std::pair<double, double> tu_default(int isa, int m, int n, int k, std::string* abi_name);
std::pair<double, double> tu_isa_flags(int isa, int m, int n, int k, std::string* abi_name);
std::pair<double, double> tu_other_debug_mode(int isa, int m, int n, int k, std::string* abi_name);

// The units' functions take plain ints and strings: tessel's own types (tessel::Isa too) are
// distinct types in each unit's ABI namespace, so they cannot cross between the units.
// Whether this CPU has what CMakeLists.txt gives tu_isa_flags.cpp.
static bool tu_isa_flags_runs_here() {
#if defined(__x86_64__)
  return tessel::cpu_features().has(tessel::kAvx2PathFeatures);
#else
  return true;
#endif
}

int main() {
  if (!tu_isa_flags_runs_here()) {
    std::puts("SKIPPED: this CPU lacks the instruction-set flags of tu_isa_flags.cpp");
    return 77;
  }
  int failures = 0;
  std::string names[3];
  for (tessel::Isa isa : tessel::available_isas()) {
    for (int k : {1, 100, 700}) {
      const int m = 37, n = 45;
      // Σ_ij Σ_p a_ip b_pj with small integers (exact in float), and the multi-head sum.
      double matmul_sum = 0, a0 = 0, b0 = 0;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j)
          for (int p = 0; p < k; ++p) matmul_sum += double((i * k + p) % 7 - 3) * double((p * n + j) % 5 - 2);
      for (int i = 0; i < m; ++i) a0 += double((i * k) % 7 - 3);
      for (int j = 0; j < n; ++j) b0 += double(j % 5 - 2);
      const std::pair<double, double> want{matmul_sum, a0 * b0};
      const std::pair<double, double> got[3] = {tu_default(int(isa), m, n, k, &names[0]),
                                                tu_isa_flags(int(isa), m, n, k, &names[1]),
                                                tu_other_debug_mode(int(isa), m, n, k, &names[2])};
      for (int u = 0; u < 3; ++u) {
        if (got[u] != want) {
          std::printf("FAIL isa %s k %d unit %s: got (%g, %g), expected (%g, %g)\n",
                      std::string(tessel::isa_name(isa)).c_str(), k, names[u].c_str(), got[u].first, got[u].second,
                      want.first, want.second);
          ++failures;
        }
      }
    }
  }
  for (int u = 0; u < 3; ++u)
    for (int v = u + 1; v < 3; ++v)
      if (names[u] == names[v]) {
        std::printf("FAIL units %d and %d share the ABI namespace %s\n", u, v, names[u].c_str());
        ++failures;
      }
  std::printf("ABI namespaces: %s, %s, %s\n%s\n", names[0].c_str(), names[1].c_str(), names[2].c_str(),
              failures ? "FAILED" : "passed");
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
