#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run: installs what is missing
# (build and test tools), builds in a clean directory and runs every test through CTest.
# KGATE_TEST_ARGS passes extra arguments to ctest (e.g. "-R Proxy").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --with-tests
export KGATE_BUILD_DIR=${KGATE_BUILD_DIR:-build-test}
rm -rf "$KGATE_BUILD_DIR"
./scripts/build.sh
cd "$KGATE_BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" ${KGATE_TEST_ARGS:-}
