#!/usr/bin/env bash
# The quick start's key for the CLI: makes tenant "quickstart" and a key of it (create-api-key)
# and stores the key with `mpiaas login` in the CLI's config file ($XDG_CONFIG_HOME or
# ~/.config, mpiaas/config.json, mode 0600), so `mpiaas run` needs no --token. A stored key that
# still works with this server is kept, so running the quick start again adds no key.
# Needs: MPIAAS_URL (a running api), DATABASE_URL (its database), the build (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MPIAAS_URL:?MPIAAS_URL must name the api}" "${DATABASE_URL:?DATABASE_URL must name its database}"
# The stored key is what is checked, not one from the caller's environment.
unset MPIAAS_TOKEN

if node -e '
  const { configFilePath, readConfigFile } = require("./apps/cli/dist/config-file.js");
  const url = process.argv[1];
  const stored = readConfigFile(configFilePath());
  if (!stored.token || stored.url !== url) process.exit(1);
  fetch(`${url}/usage`, { headers: { authorization: `Bearer ${stored.token}` } })
    .then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1));' "$MPIAAS_URL"; then
  echo "mpiaas: the CLI already has a working key for $MPIAAS_URL; kept" >&2
  exit 0
fi
key=$(node apps/api/dist/create-api-key.js --tenant quickstart "cli-$(id -un 2>/dev/null || echo user)")
node apps/cli/bin/mpiaas.js login --url "$MPIAAS_URL" --token "$key"
