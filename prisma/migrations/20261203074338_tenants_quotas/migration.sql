-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "last_used_at" TIMESTAMPTZ(3),
ADD COLUMN     "prefix" TEXT,
ADD COLUMN     "tenant_id" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid;

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "tenant_id" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid;

-- CreateTable
CREATE TABLE "tenants" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "max_queued_jobs" INTEGER,
    "max_running_ranks" INTEGER,
    "max_np" INTEGER,
    "max_timeout_seconds" INTEGER,
    "requests_per_minute" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- The default tenant: it owns every job and key made before tenants existed, the jobs of
-- AUTH_MODE=none and the keys of create-api-key (the columns' default), so it must exist before
-- the foreign keys below. Its quotas are null: the api's configured defaults.
INSERT INTO "tenants" ("id", "name", "updated_at") VALUES ('00000000-0000-0000-0000-000000000000', 'default', CURRENT_TIMESTAMP);

-- CreateIndex
CREATE UNIQUE INDEX "tenants_name_key" ON "tenants"("name");

-- CreateIndex
CREATE INDEX "api_keys_tenant_id_idx" ON "api_keys"("tenant_id");

-- CreateIndex
CREATE INDEX "jobs_tenant_id_created_at_id_idx" ON "jobs"("tenant_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "jobs_tenant_id_status_created_at_id_idx" ON "jobs"("tenant_id", "status", "created_at" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- An Idempotency-Key is unique per tenant: two tenants may pick the same one.
-- DropIndex
DROP INDEX "jobs_idempotency_key_key";

-- CreateIndex
CREATE UNIQUE INDEX "jobs_tenant_id_idempotency_key_key" ON "jobs"("tenant_id", "idempotency_key");
