#!/usr/bin/env bash
# Matrix: AArch64 -- GCC 12's cross compiler (g++-aarch64-linux-gnu, which brings the
# target's libc and libstdc++; libgomp1-arm64-cross its OpenMP runtime), C++20, every test
# program and the conformance driver run under qemu-aarch64 (qemu-user). Preset ci-aarch64,
# toolchain file cmake/toolchains/aarch64-linux-gnu.cmake.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# TEMPORARY: these test files use x86 intrinsics or name the x86 kernels unguarded and do not
# compile for AArch64; they are being rewritten over the engine's ISA registry, which makes
# them build there. Until then they are left out of this build, and each shows up in ctest's
# summary as a skipped test "excluded:<file>". Delete this list when they build.
excluded="test_convert;test_gemm;test_gemm_bf16"

exec scripts/ci/preset.sh ci-aarch64 g++-aarch64-linux-gnu libgomp1-arm64-cross qemu-user \
  -- "-DTESSEL_EXCLUDE_TESTS=${excluded}"
