#!/usr/bin/env bash
# Installs and starts what mpiaas needs on a Debian machine, then builds it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v node >/dev/null || apt_install nodejs npm
ensure_node_deps
ensure_redis
ensure_postgres
ensure_python
ensure_build
log "ready (ranks use $MPIAAS_PYTHON)"
