-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "profile" JSONB;
