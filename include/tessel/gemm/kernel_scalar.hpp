// tessel/gemm/kernel_scalar.hpp — the plain-loop micro-kernel (contract: kernel_contract.hpp),
// in no path of the registry: the reference tests run beside every path's kernels
// (tests/test_gemm_kernels.cpp), and a kernel for tests of the driver's plans. The portable
// path runs PortableKernel (kernel_portable.hpp) instead, which compilers turn into SIMD
// code reliably where they do not vectorise these loops well.
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "../simd/isa_registry.hpp"
#include "kernel_contract.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct ScalarKernel {
  static constexpr Isa isa = Isa::scalar;
  static constexpr int MR = 4;
  static constexpr int NR = 16;
  static constexpr KernelFeatures features{};

  static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc, bool accumulate) {
    float acc[MR][NR] = {};
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* a = Ap + p * MR;
      const float* b = Bp + p * NR;
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
    }
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) C[i * ldc + j] = accumulate ? C[i * ldc + j] + acc[i][j] : acc[i][j];
  }
};

}  // namespace detail
TESSEL_NAMESPACE_END
