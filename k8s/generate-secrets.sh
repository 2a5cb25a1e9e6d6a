#!/usr/bin/env sh
# Prints a secrets.env for an overlay with in-cluster Postgres, Redis and MinIO (overlays/kind):
# fresh random passwords and the URLs that carry them, MinIO's key pair (its root user, with
# which the api and the worker sign their requests) and the admin API's key. Hex, so the URLs
# need no escaping.
#   k8s/generate-secrets.sh > k8s/overlays/kind/secrets.env
set -eu
random() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }
pg=$(random)
redis=$(random)
echo "POSTGRES_PASSWORD=$pg"
echo "DATABASE_URL=postgresql://mpiaas:$pg@postgres:5432/mpiaas"
echo "REDIS_PASSWORD=$redis"
echo "REDIS_URL=redis://:$redis@redis:6379"
echo "ADMIN_API_KEY=$(random)"
# MinIO wants a user of 3-20 and a password of 8-40 characters.
echo "S3_ACCESS_KEY_ID=mpiaas"
echo "S3_SECRET_ACCESS_KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
