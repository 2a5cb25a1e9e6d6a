-- CreateEnum
CREATE TYPE "placement" AS ENUM ('PACK', 'SPREAD');

-- AlterTable
ALTER TABLE "job_ranks" ADD COLUMN     "worker_id" TEXT;

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "oversubscribe" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "placement" "placement" NOT NULL DEFAULT 'PACK';
