// tessel/gemm/kernel_neon.hpp — the AArch64 NEON fp32 micro-kernel (contract:
// kernel_contract.hpp).
//
// Register tile MR×NR = 8×12 over the 32 128-bit vector registers: 24 accumulators (8 rows ×
// 3 vectors of 4 columns), the 3 B vectors and the 2 A vectors of a k step — 29 registers,
// none spilled. Each accumulator takes one FMLA by element (vfmaq_laneq_f32: B vector ×
// lane i of the A vector), so A values need no broadcast instruction: a k step is 5 vector
// loads and 24 FMLAs. 24 independent chains cover 4-cycle FMLA latency on two to four FP
// pipes (Cortex-A76/X1/Neoverse N1/V1, Apple cores).
//
// float16 and bfloat16 reach it as fp32 panels: the packing converts them with the NEON
// conversions of simd/convert.hpp (IsaConvert<Isa::neon>).
#pragma once

#include "../core/config.hpp"

#include <cstdint>

#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "kernel_contract.hpp"

#if defined(TESSEL_HAVE_NEON_TARGETS)
#include <arm_neon.h>

TESSEL_NAMESPACE_BEGIN
namespace detail {

struct NeonKernel {
  static constexpr Isa isa = Isa::neon;
  static constexpr int MR = 8;
  static constexpr int NR = 12;
  static constexpr int kVectors = NR / 4;  // B vectors per k step
  static constexpr KernelFeatures features{};

  static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc, bool accumulate) {
    // Named accumulators, not an array: GCC keeps an array of vectors that helpers index in
    // memory, storing it on every k step.
    float32x4_t c00 = vdupq_n_f32(0.0f), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    float32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    float32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    float32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
    for (std::int64_t p = 0; p < kc; ++p) {
      const float* a = Ap + p * MR;
      const float* b = Bp + p * NR;
      const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
      const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
      row<0>(c00, c01, c02, a0, b0, b1, b2);
      row<1>(c10, c11, c12, a0, b0, b1, b2);
      row<2>(c20, c21, c22, a0, b0, b1, b2);
      row<3>(c30, c31, c32, a0, b0, b1, b2);
      row<0>(c40, c41, c42, a1, b0, b1, b2);
      row<1>(c50, c51, c52, a1, b0, b1, b2);
      row<2>(c60, c61, c62, a1, b0, b1, b2);
      row<3>(c70, c71, c72, a1, b0, b1, b2);
    }
    store_row(C, accumulate, c00, c01, c02);
    store_row(C + ldc, accumulate, c10, c11, c12);
    store_row(C + 2 * ldc, accumulate, c20, c21, c22);
    store_row(C + 3 * ldc, accumulate, c30, c31, c32);
    store_row(C + 4 * ldc, accumulate, c40, c41, c42);
    store_row(C + 5 * ldc, accumulate, c50, c51, c52);
    store_row(C + 6 * ldc, accumulate, c60, c61, c62);
    store_row(C + 7 * ldc, accumulate, c70, c71, c72);
  }

 private:
  // One row of the tile += lane L of the A vector × the B row (FMLA by element).
  template <int L>
  static TESSEL_ALWAYS_INLINE void row(float32x4_t& c0, float32x4_t& c1, float32x4_t& c2, float32x4_t a, float32x4_t b0,
                                       float32x4_t b1, float32x4_t b2) {
    c0 = vfmaq_laneq_f32(c0, b0, a, L);
    c1 = vfmaq_laneq_f32(c1, b1, a, L);
    c2 = vfmaq_laneq_f32(c2, b2, a, L);
  }
  static TESSEL_ALWAYS_INLINE void store_row(float* r, bool accumulate, float32x4_t x0, float32x4_t x1, float32x4_t x2) {
    if (accumulate) {
      x0 = vaddq_f32(vld1q_f32(r), x0);
      x1 = vaddq_f32(vld1q_f32(r + 4), x1);
      x2 = vaddq_f32(vld1q_f32(r + 8), x2);
    }
    vst1q_f32(r, x0);
    vst1q_f32(r + 4, x1);
    vst1q_f32(r + 8, x2);
  }
};

static_assert(NeonKernel::NR % 4 == 0 && NeonKernel::MR == 8, "the k loop reads A as two and B as NR/4 vectors");

}  // namespace detail
TESSEL_NAMESPACE_END

#endif  // TESSEL_HAVE_NEON_TARGETS
