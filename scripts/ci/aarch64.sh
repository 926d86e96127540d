#!/usr/bin/env bash
# Matrix: AArch64 -- GCC 12's cross compiler (g++-aarch64-linux-gnu, which brings the
# target's libc and libstdc++; libgomp1-arm64-cross its OpenMP runtime), C++20, every test
# program and the conformance driver run under qemu-aarch64 (qemu-user). Preset ci-aarch64,
# toolchain file cmake/toolchains/aarch64-linux-gnu.cmake.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# Every test program builds for AArch64; the tests loop over the registry's two paths there,
# scalar (the portable vector-extension path) and neon. TESSEL_EXCLUDE_TESTS is passed empty
# so that a build directory configured with an older exclusion list builds everything again.
exec scripts/ci/preset.sh ci-aarch64 g++-aarch64-linux-gnu libgomp1-arm64-cross qemu-user \
  -- "-DTESSEL_EXCLUDE_TESTS="
