# Shared by the setup, quick-start and test scripts: small, idempotent steps that install
# and start only what is missing on a Debian machine.

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) for: $*" >&2; return 1; fi
}

APT_UPDATED=
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_node_deps() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm dependencies"
    npm ci --no-audit --no-fund
  fi
}

ensure_redis() {
  if ! command -v redis-server >/dev/null; then apt_install redis-server redis-tools; fi
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "starting redis on 127.0.0.1:6379"
    as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
      --maxmemory-policy noeviction
    for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
}

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql; fi
  if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
    log "starting postgres on 127.0.0.1:5432"
    local version; version=$(ls /etc/postgresql | sort -V | tail -1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 50); do pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break; sleep 0.2; done
  fi
  # Debian's own cluster asks for a password on 127.0.0.1: give the postgres role the one the
  # default DATABASE_URL carries (a trust cluster ignores it). Local development only.
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    log "setting the local postgres role's password for development"
    as_root su postgres -c "psql -q -c \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null
  fi
}

# The interpreter for ranks: $MPIAAS_PYTHON if set, else Debian's python3 with python3-numpy
# (installed when missing). A system interpreter, not one under a home directory: a worker
# running as root runs ranks as nobody, who must be able to execute it. Exports MPIAAS_PYTHON.
ensure_python() {
  # bubblewrap confines each rank (its own root, PIDs and network); the worker falls back to
  # limits only without it.
  apt_install bubblewrap
  if [ -n "${MPIAAS_PYTHON:-}" ]; then return 0; fi
  /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || apt_install python3 python3-numpy
  export MPIAAS_PYTHON=/usr/bin/python3
}

# Real Open MPI and mpi4py, the reference the differential tests and benchmarks compare with;
# iproute2, whose `ip netns` gives the multi-host tests their hosts (test/support/netns-hosts.ts);
# and openssl, which makes the certificate of the private TLS Redis in payload-connection.spec.
ensure_reference_mpi() {
  apt_install openmpi-bin python3-mpi4py python3-numpy iproute2 openssl
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
}

# Debian's Chromium, the browser the dashboard's tests (test/ui) drive through playwright-core;
# they fail in CI without it. Exports MPIAAS_CHROMIUM.
ensure_chromium() {
  apt_install chromium
  export MPIAAS_CHROMIUM=/usr/bin/chromium
}

ensure_build() {
  log "building"
  npm run --silent build
  # `mpiaas exec` ranks import the shim from the checkout: compiled once here for the ranks'
  # interpreter, each rank saves ~35 ms of compiling it (even when bytecode writing is off).
  "${MPIAAS_PYTHON:-python3}" -m compileall -q packages/runtime/python/mpi4py packages/runtime/python/sitecustomize.py packages/runtime/forker >/dev/null || true
}

# `mpiaas` as a command, as mpirun is: a launcher in /usr/local/bin (~/.local/bin without root,
# or $MPIAAS_BIN_DIR) that runs this checkout's CLI with the node that built it and the ranks'
# interpreter chosen at setup (a pyenv shim would cost tens of ms per rank). Rewritten only
# when it changes.
# `mpiaas exec` runs its Node without NODE_EXTRA_CA_CERTS: Node 20 reads and parses that CA
# bundle at start-up, needed or not (80 ms of a 220 ms `exec -n 4 hello.py` on our 2-core
# machine), and a local run talks TLS to nothing (apps/cli/src/deferred-ca-certs.ts: the
# ranks still get it, and a run whose agents meet in a Redis over TLS restarts with it).
ensure_cli_command() {
  # a word for sh, single-quoted (each ' in it becoming '\''): paths may hold spaces or quotes
  sh_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
  local dir="${MPIAAS_BIN_DIR:-}"
  if [ -z "$dir" ]; then
    if [ -w /usr/local/bin ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi
  fi
  mkdir -p "$dir"
  local want
  want=$(printf '%s\n' '#!/bin/sh' "# mpiaas CLI of $PWD (written by scripts/setup.sh)" \
    "[ -n \"\${MPIAAS_PYTHON:-}\" ] || MPIAAS_PYTHON=$(sh_quote "$MPIAAS_PYTHON")" 'export MPIAAS_PYTHON' \
    'if [ "$1" = exec ] && [ -n "${NODE_EXTRA_CA_CERTS+set}" ]; then' \
    '  MPIAAS_DEFERRED_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export MPIAAS_DEFERRED_NODE_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS' \
    'fi' \
    "exec $(sh_quote "$(command -v node)") $(sh_quote "$PWD/apps/cli/dist/main.js") \"\$@\"")
  if [ "$(cat "$dir/mpiaas" 2>/dev/null)" != "$want" ]; then
    printf '%s\n' "$want" > "$dir/mpiaas.tmp" && chmod 755 "$dir/mpiaas.tmp" && mv "$dir/mpiaas.tmp" "$dir/mpiaas"
    log "installed the mpiaas command: $dir/mpiaas"
  fi
  case ":$PATH:" in *":$dir:"*) ;; *) log "add $dir to your PATH to type mpiaas";; esac
}
