#!/usr/bin/env bash
# Runs every test: sets up what is missing (including Open MPI, the reference the
# differential tests compare with, and Chromium for the dashboard's), lints, then runs the
# Python and TypeScript suites.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_python
ensure_reference_mpi
ensure_chromium
npm run --silent lint
npm test
