#!/usr/bin/env bash
# Matrix: clang 14, libc++ 14, C++23 (preset ci-clang-libcxx).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec scripts/ci/preset.sh ci-clang-libcxx clang-14 libc++-14-dev libc++abi-14-dev libomp-14-dev
