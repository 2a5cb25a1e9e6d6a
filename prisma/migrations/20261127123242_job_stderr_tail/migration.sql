-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "stderr_tail" TEXT;
