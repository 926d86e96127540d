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

# The build's own packages first (g++, cmake, catch2, ...), then the browser's. Chromium only
# recommends a font; DejaVu gives the labels the sans-serif the pictures ask for.
scripts/install-deps.sh
packages=(chromium python3 fonts-dejavu-core)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "run-browser-tests: missing Debian packages: ${missing[*]}" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "run-browser-tests: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=900 update -q
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
fi

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset ci
cmake --build --preset ci --parallel "$jobs" --target example_mm_pictures
exec ctest --preset ci --output-on-failure -L browser
