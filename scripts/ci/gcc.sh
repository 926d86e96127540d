#!/usr/bin/env bash
# Matrix: GCC 12 (Debian's g++), libstdc++, C++20 -- the default suite of scripts/run-tests.sh
# (preset ci; benchmarks and examples built too).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec scripts/run-tests.sh
