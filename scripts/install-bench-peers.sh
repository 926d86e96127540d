#!/usr/bin/env bash
# Optional: the libraries bench/ compares tessel with, besides Eigen (which
# install-deps.sh always installs). Large downloads (libtorch-dev is ~1 GB installed),
# so neither run-tests.sh nor run-example.sh installs them.
#   OpenBLAS -> TESSEL_HAVE_OPENBLAS, oneDNN -> TESSEL_HAVE_ONEDNN, libtorch -> TESSEL_HAVE_TORCH
# Reconfigure afterwards (cmake --preset release) so bench/ picks them up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec scripts/install-deps.sh libopenblas-dev libdnnl-dev libtorch-dev
