#!/usr/bin/env bash
# Quick start: installs what is missing, builds, migrates, starts the API (API keys required)
# and one worker in the background, gives the CLI a key of its own, and runs the tutorial's
# hello world on 4 ranks through POST /jobs.
# The service keeps running afterwards; `bash scripts/stop.sh` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bash scripts/setup.sh
ensure_python

export PORT="${PORT:-3000}"
export DATABASE_URL="${DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:5432/mpiaas}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export MPIAAS_URL="${MPIAAS_URL:-http://127.0.0.1:$PORT}"
run_dir=.mpiaas
mkdir -p "$run_dir"

# Secure by default, as compose and Kubernetes are: every request needs an API key. The admin
# key (for /admin/…: tenants, quotas, keys) is made once and kept readable by this user only.
export AUTH_MODE="${AUTH_MODE:-api-key}"
if [ -z "${ADMIN_API_KEY:-}" ]; then
  if [ ! -s "$run_dir/admin-api-key" ]; then
    (umask 077 && node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))' >"$run_dir/admin-api-key")
  fi
  ADMIN_API_KEY=$(cat "$run_dir/admin-api-key")
  export ADMIN_API_KEY
fi

# Output files on this machine's disk (the api and the worker share the folder), and webhooks
# may reach receivers on this machine or its network (compose and Kubernetes refuse those).
export STORAGE_DRIVER="${STORAGE_DRIVER:-local}"
export STORAGE_LOCAL_DIR="${STORAGE_LOCAL_DIR:-$PWD/$run_dir/files}"
export WEBHOOK_ALLOW_PRIVATE="${WEBHOOK_ALLOW_PRIVATE:-true}"

log "migrating $DATABASE_URL"
node packages/db/dist/migrate-cli.js

start() { # name, main file
  local name=$1 main=$2
  if [ -f "$run_dir/$name.pid" ] && kill -0 "$(cat "$run_dir/$name.pid")" 2>/dev/null; then
    log "$name already running (pid $(cat "$run_dir/$name.pid"))"
    return
  fi
  nohup node "$main" >"$run_dir/$name.log" 2>&1 &
  echo $! >"$run_dir/$name.pid"
  log "started $name (pid $!, log $run_dir/$name.log)"
}
start api apps/api/dist/main.js
start worker apps/worker/dist/main.js

# Wait for /readyz (Postgres, Redis and the queue answering), with Node: curl may be absent.
node -e '
  const url = process.argv[1] + "/readyz";
  const deadline = Date.now() + 30000;
  (async () => {
    while (Date.now() < deadline) {
      try { if ((await fetch(url)).ok) return; } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    console.error("the API did not become ready: see .mpiaas/api.log");
    process.exit(1);
  })();' "$MPIAAS_URL"

log "a key for the CLI (tenant quickstart), stored by mpiaas login"
bash scripts/quickstart-login.sh

log "npx mpiaas run -n 4 --tag-output examples/hello.py   (POST $MPIAAS_URL/jobs)"
npx mpiaas run -n 4 --tag-output examples/hello.py

cat <<MSG

mpiaas is running: API $MPIAAS_URL, Swagger UI $MPIAAS_URL/docs
  npx mpiaas run -n 4 examples/pi.py         # another job, output live
  npx mpiaas list                            # recent jobs
  npx mpiaas exec -n 4 examples/pi.py        # local run, no server (like mpirun)
  npx mpiaas login --url URL --token KEY     # use another server or key
The CLI's key is in ${XDG_CONFIG_HOME:-~/.config}/mpiaas/config.json; the admin key
(Authorization: Bearer … on /admin/tenants, see the README) in $run_dir/admin-api-key.
  bash scripts/stop.sh                       # stop the API and the worker
MSG
