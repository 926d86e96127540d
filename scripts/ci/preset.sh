#!/usr/bin/env bash
# One configuration of the test matrix: install what it needs from Debian (as
# scripts/install-deps.sh does: only what is missing), then configure, build and run the
# default test suite (everything but the label `long`) of a preset of CMakePresets.json.
#
#   scripts/ci/preset.sh <preset> [<debian package>...] [-- <extra cmake configure arguments>]
#
# Exits with ctest's status; ctest's summary is the last thing printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [ "$#" -lt 1 ]; then
  echo "usage: scripts/ci/preset.sh <preset> [<debian package>...] [-- <cmake arguments>]" >&2
  exit 2
fi
preset="$1"
shift
packages=()
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
  packages+=("$1")
  shift
done
[ "$#" -gt 0 ] && shift  # the --
configure_args=("$@")

scripts/install-deps.sh "${packages[@]}"

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset "$preset" "${configure_args[@]}"
cmake --build --preset "$preset" --parallel "$jobs"
exec ctest --preset "$preset" --output-on-failure --label-exclude long --parallel "$jobs"
