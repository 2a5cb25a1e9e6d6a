#!/bin/sh
# Stands in for Prisma's native schema engine, which cannot be downloaded on machines without
# internet access. `prisma generate` only needs PRISMA_SCHEMA_ENGINE_BINARY to name an existing
# file; a command that would really run the engine lands here instead.
echo "Prisma's native schema engine is not available here. Apply migrations with" >&2
echo "  npm run migrate -w @mpiaas/db   (node packages/db/dist/migrate-cli.js)" >&2
echo "and write new ones with  npm run migration:diff -w @mpiaas/db -- <name>" >&2
exit 1
