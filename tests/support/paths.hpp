// tests/support/paths.hpp — every kernel path a test runs, read from the registry
// (simd/isa_registry.hpp, gemm/paths.hpp), as ruy's TestSet does: each path this CPU and
// build can run, and for bfloat16 on a path with several kernels each of them (AVX-512: the
// fp32 FMA route and, where the CPU has AVX512_BF16, vdpbf16ps, and where the CPU and OS have
// AMX-BF16, AMX tiles). TESSEL_ISA restricts the list to that path, as it restricts the
// library, and TESSEL_BF16_ROUTE restricts the bfloat16 routes to the one it names (`auto`:
// the automatic, guarded choice; a route this CPU lacks: the automatic one), so that
// `TESSEL_BF16_ROUTE=fma` keeps every test off AMX (valgrind knows no AMX). (The forced
// vdpbf16ps and AMX routes run unguarded: tests that plant tiny values run them through the
// automatic choice instead.)
//
//   for (const TestPath& path : test_paths<T>()) { PathScope use(path); ... }
#pragma once

#include <tessel/gemm/gemm.hpp>

#include "reference.hpp"

#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tessel_test {

struct TestPath {
  tessel::Isa isa = tessel::Isa::scalar;
  tessel::detail::Bf16Route bf16 = tessel::detail::Bf16Route::automatic;  // the route forced for bfloat16
  std::string name;
};

template <class T>
std::vector<TestPath> test_paths() {
  using tessel::detail::Bf16Route;
  std::vector<TestPath> v;
  const char* only = std::getenv("TESSEL_ISA");
  const char* route_only = std::getenv("TESSEL_BF16_ROUTE");
  for (tessel::Isa isa : tessel::available_isas()) {
    const std::string name(tessel::isa_name(isa));
    if (only && std::string_view(only) != name) continue;
    // The kernels the path may run for T: one, or the bfloat16 routes.
    int kernels = 0;
    tessel::detail::for_each_kernel_config<T>([&]<class Config>() { kernels += Config::Kernel::isa == isa; });
    if (kernels > 1 && std::is_same_v<T, tessel::bfloat16>) {
      const std::size_t before = v.size();
      auto add = [&](Bf16Route r, const char* what) {
        if (!route_only || route_only == std::string_view(tessel::detail::bf16_route_name(r)))
          v.push_back({isa, r, name + " (" + what + ")"});
      };
      add(Bf16Route::fma, "fp32 FMA route");
      if (tessel::detail::dpbf16_available()) add(Bf16Route::dpbf16, "vdpbf16ps route");
      if (tessel::detail::amx_available()) add(Bf16Route::amx, "AMX route");
      if (v.size() == before) v.push_back({isa, Bf16Route::automatic, name + " (automatic route)"});
    } else {
      v.push_back({isa, Bf16Route::automatic, name});
    }
  }
  if (v.empty()) v.push_back({tessel::current_isa(), Bf16Route::automatic, std::string(tessel::active_isa())});
  return v;
}

// Runs the library on one path for the scope; restores the path, the bfloat16 route and the
// thread setting afterwards (also on failure).
class PathScope {
 public:
  explicit PathScope(const TestPath& path) {
    tessel::set_isa(path.isa);
    tessel::detail::set_bf16_route(path.bf16);
  }
  ~PathScope() { tessel::detail::set_bf16_route(tessel::detail::Bf16Route::automatic); }
  PathScope(const PathScope&) = delete;
  PathScope& operator=(const PathScope&) = delete;

 private:
  SettingsGuard settings_;  // the ISA and thread settings, restored after the route
};

}  // namespace tessel_test
