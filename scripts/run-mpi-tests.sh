#!/usr/bin/env bash
# The MPI tests of tessel/distributed.hpp (CTest label `mpi`): makes sure Debian's Open MPI
# (libopenmpi-dev, openmpi-bin) is installed, builds the ci preset (build/ci) and runs
# `ctest -L mpi` there (the tests and examples under mpirun -np 1, 2 and 4 on this machine).
#   as root:     apt-get update (once) + apt-get install of what is missing
#   as a user:   prints the apt-get command to run and exits 1
# The same tests run in the default suite (scripts/run-tests.sh) whenever MPI is installed.
# Exits with ctest's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh libopenmpi-dev openmpi-bin

jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset ci
cmake --build --preset ci --parallel "$jobs"
exec ctest --preset ci --output-on-failure -L mpi
