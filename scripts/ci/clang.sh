#!/usr/bin/env bash
# Matrix: clang 14, libstdc++, C++20 (preset ci-clang). libomp-14-dev is clang's OpenMP
# runtime; without it clang would build tessel single-threaded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec scripts/ci/preset.sh ci-clang clang-14 libomp-14-dev
