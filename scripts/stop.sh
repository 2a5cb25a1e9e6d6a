#!/usr/bin/env bash
# Stops the API and worker that scripts/quickstart.sh started (SIGTERM: running jobs finish
# within the worker's grace period).
set -euo pipefail
cd "$(dirname "$0")/.."
for name in api worker; do
  pid_file=.mpiaas/$name.pid
  [ -f "$pid_file" ] || continue
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "stopped $name (pid $pid)"
  fi
  rm -f "$pid_file"
done
