// tessel/gemm/kernel_portable.hpp — the portable path's micro-kernel (contract:
// kernel_contract.hpp), written with GCC/Clang vector extensions so that every 64-bit target
// gets SIMD code from the compiler's own flags, with no intrinsics of any architecture.
//
// The vectors are as wide as the build's baseline guarantees (simd/vector_ext.hpp: 16 bytes
// for SSE2 on x86-64, NEON on AArch64 and the 128-bit units of other targets; 32 or 64 bytes
// when the build's flags enable AVX or AVX-512). The register tile is MR = 4 rows × NR = 2
// vectors: 8 accumulators, the 2 B vectors of a k step, one vector of the step's 4 A values
// (each broadcast from it by a lane shuffle) and a product's temporary (SSE2's two-operand
// instructions overwrite one operand) -- 13 registers, so the k loop keeps everything in
// registers on a 16-register file under both GCC and Clang at -O2 and -O3 (a 4×3-vector or
// 6×2-vector tile spills there). 8 independent accumulator chains cover the latency of the
// add (or fused multiply-add) on the two or more FP pipes of the cores we know. On AArch64 the
// same code becomes FMLA by element (the broadcast folds into the multiply-add).
//
// Whether a multiply and an add are fused into one FMA is the compiler's choice
// (-ffp-contract) on targets that have one (AArch64; not baseline x86-64); either way each
// product is summed in fp32, in increasing p, as the contract asks.
//
// ScalarKernel (kernel_scalar.hpp), the plain loop this kernel replaced, stays as a reference
// for tests.
#pragma once

#include "../core/config.hpp"

#include <cstddef>
#include <cstdint>
#include <utility>

#include "../simd/isa_registry.hpp"
#include "../simd/target.hpp"
#include "../simd/vector_ext.hpp"
#include "kernel_contract.hpp"

TESSEL_NAMESPACE_BEGIN
namespace detail {

namespace portable {

using vec::kLanes;
using vec::vfloat;
using vec::vfloat4;
using vec::vint4;

// {a[L], a[L], ...}: A value L of a k step in every lane of a vector. 16-byte vectors take it
// from the step's A vector by a lane shuffle (SSE2 has no broadcast load); wider ones (AVX
// and up) broadcast it from memory, which is one instruction there, where widening a
// shuffle is not. On SSE2 the shuffle is done on integer lanes: the float shuffle (shufps)
// overwrites its source, so each broadcast would cost a copy too, where the integer one
// (pshufd) writes a new register (GCC keeps it; Clang picks its own shuffle either way).
// Elsewhere (NEON) the float shuffle is what lets the compiler fuse it into an FMLA by
// element.
template <int L, std::size_t... Lanes>
TESSEL_ALWAYS_INLINE vfloat broadcast_lane(vfloat4 v, std::index_sequence<Lanes...>) {
#if defined(__SSE2__) && !defined(__AVX__)
  const vint4 x = reinterpret_cast<vint4>(v);
  return reinterpret_cast<vfloat>(__builtin_shufflevector(x, x, (static_cast<void>(Lanes), L)...));
#else
  return __builtin_shufflevector(v, v, (static_cast<void>(Lanes), L)...);
#endif
}
template <int L>
TESSEL_ALWAYS_INLINE vfloat broadcast(const float* a, vfloat4 v) {
  if constexpr (kLanes == 4) return broadcast_lane<L>(v, std::make_index_sequence<kLanes>{});
  else return vfloat{} + a[L];
}

}  // namespace portable

struct PortableKernel {
  static constexpr Isa isa = Isa::scalar;
  static constexpr int MR = 4;        // the A values of a k step: one 4-float vector
  static constexpr int kVectors = 2;  // B vectors per k step
  static constexpr int NR = kVectors * portable::kLanes;
  // An A contiguous along m (A3ᵀ of dW = A3ᵀ·dO) is packed a block at a time: each k line
  // read once (gemm/pack_portable.hpp: pack_lines).
  static constexpr KernelFeatures features{.packs_a_block_of_lines = true};

  static void run(std::int64_t kc, const float* Ap, const float* Bp, float* C, std::int64_t ldc, bool accumulate) {
    using portable::vfloat;
    vfloat c[MR][kVectors] = {};
    // Unrolled by 4: the loop's own instructions (pointer steps, compare, branch) are then
    // spread over four steps; the accumulators stay in registers (GCC and Clang, -O2/-O3).
#pragma GCC unroll 4
    for (std::int64_t p = 0; p < kc; ++p) {
      const vfloat* b = reinterpret_cast<const vfloat*>(Bp + p * NR);
      const vfloat b0 = b[0], b1 = b[1];
      const float* a = Ap + p * MR;
      const portable::vfloat4 av = *reinterpret_cast<const portable::vfloat4*>(a);
      row_step(c[0], portable::broadcast<0>(a, av), b0, b1);
      row_step(c[1], portable::broadcast<1>(a, av), b0, b1);
      row_step(c[2], portable::broadcast<2>(a, av), b0, b1);
      row_step(c[3], portable::broadcast<3>(a, av), b0, b1);
    }
    using U = vec::vfloat_unaligned;  // tile columns start at multiples of NR floats only
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      U* row = reinterpret_cast<U*>(C + i * ldc);
      if (accumulate) row[0] += c[i][0], row[1] += c[i][1];
      else row[0] = c[i][0], row[1] = c[i][1];
    }
  }

 private:
  static TESSEL_ALWAYS_INLINE void row_step(portable::vfloat (&c)[kVectors], portable::vfloat a, portable::vfloat b0,
                                            portable::vfloat b1) {
    c[0] += a * b0;
    c[1] += a * b1;
  }
};

}  // namespace detail
TESSEL_NAMESPACE_END
