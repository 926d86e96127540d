#!/usr/bin/env bash
# Matrix: GCC 12, libstdc++, C++23 (preset ci-gcc-cxx23).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec scripts/ci/preset.sh ci-gcc-cxx23
