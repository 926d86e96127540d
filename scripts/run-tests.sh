#!/usr/bin/env bash
# Build tessel (preset `ci`: -O2 with assertions, build/ci) and run the default test
# suite: unit tests, header self-containment (a build step), conformance cases when
# present, examples and packaging. Cases tagged [long] are not part of it.
# Exits with ctest's status; ctest's summary is the last thing printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset ci
cmake --build --preset ci --parallel "$jobs"
exec ctest --preset ci --output-on-failure --label-exclude long --parallel "$jobs"
