#!/usr/bin/env bash
# Build the release preset (build/release) and run the main example,
# examples/multi_head.cpp. Arguments are passed on to the example.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

example=multi_head
if [ ! -f "examples/${example}.cpp" ]; then
  echo "run-example: examples/${example}.cpp does not exist (yet); nothing to run" >&2
  exit 1
fi

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset release
cmake --build --preset release --parallel "$jobs" --target "example_${example}"

binary="build/release/examples/${example}"
if [ ! -x "$binary" ]; then
  echo "run-example: $binary was not built" >&2
  exit 1
fi
exec "$binary" "$@"
