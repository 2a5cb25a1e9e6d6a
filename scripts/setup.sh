#!/usr/bin/env bash
# Installs and starts what mpiaas needs on a Debian machine, then builds it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v node >/dev/null || apt_install nodejs npm
# NestJS 12 and Prisma 7 need Node 20.19+ (Debian 12's own nodejs is 18): say so plainly.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  { echo "mpiaas needs Node.js >= 20.19 (found $(node --version)); install a newer Node and run this again" >&2; exit 1; }
ensure_node_deps
ensure_redis
ensure_postgres
ensure_python
ensure_build
ensure_cli_command
log "ready (ranks use $MPIAAS_PYTHON)"
