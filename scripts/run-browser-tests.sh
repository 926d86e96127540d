#!/usr/bin/env bash
# The real-browser test of tessel/viz.hpp (CTest label `browser`): makes sure Debian's
# chromium (and python3, fonts for the labels) are installed, builds the mm_pictures example
# in the ci build (preset ci, build/ci) and runs `ctest -L browser` there. The screenshots
# land in build/ci/tests/browser/mm_pictures/screenshots for people to look at.
#   as root:     apt-get update (once) + apt-get install of what is missing
#   as a user:   prints the apt-get command to run and exits 1
# Exits with ctest's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The build's packages and the browser's, installed the way every other Debian package of the
# project is. Chromium only recommends a font; DejaVu gives the labels the sans-serif the
# pictures ask for.
scripts/install-deps.sh chromium python3 fonts-dejavu-core

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset ci
cmake --build --preset ci --parallel "$jobs" --target example_mm_pictures
exec ctest --preset ci --output-on-failure -L browser
