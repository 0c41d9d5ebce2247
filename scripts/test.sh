#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages, the model, the build, then every test
# (GoogleTest unit tests and the lit suite, end-to-end goldens included) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export LORC_MODEL_DIR="${LORC_MODEL_DIR:-$(./scripts/fetch-model.sh)}"
./scripts/build.sh
cd "${LORC_BUILD_DIR:-build}"
ctest --output-on-failure -j 2
