#!/usr/bin/env bash
# Build tessel (preset `ci`: GCC, -O2 with assertions, build/ci) and run the default test
# suite: unit tests, header self-containment (a build step), conformance cases when
# present, examples and packaging. Cases tagged [long] are not part of it.
# Exits with ctest's status; ctest's summary is the last thing printed.
# (.ci/run runs this and the other toolchains of the matrix: scripts/ci/.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec scripts/ci/preset.sh ci
