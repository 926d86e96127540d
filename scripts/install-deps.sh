#!/usr/bin/env bash
# Make sure the Debian packages tessel's build, tests, examples and benchmarks use are
# installed. Fast and idempotent: when everything is present it only asks dpkg.
#   as root:     apt-get update (once) + apt-get install of the missing ones
#   as a user:   prints the apt-get command to run and exits 1
# Optional benchmark peers (OpenBLAS, oneDNN, libtorch): scripts/install-bench-peers.sh.
# Optional test dependencies are passed as arguments by the script that needs them:
# scripts/run-browser-tests.sh (chromium, ...), scripts/run-mpi-tests.sh (libopenmpi-dev
# openmpi-bin: tessel/distributed.hpp, whose tests run whenever CMake finds MPI).
set -euo pipefail

# g++ brings libgomp (OpenMP); catch2 is Catch2 v2 (<catch2/catch.hpp>).
packages=(g++ cmake make pkg-config catch2 libeigen3-dev libbenchmark-dev "$@")

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: not a Debian system; make sure these are installed: ${packages[*]}" >&2
  exit 0
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
