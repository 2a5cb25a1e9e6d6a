#!/usr/bin/env bash
# Quick start: sets everything up, then runs the tutorial's pi example on 4 ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_python
log "mpiaas exec -n 4 examples/pi.py"
npx mpiaas exec -n 4 --tag-output examples/pi.py
