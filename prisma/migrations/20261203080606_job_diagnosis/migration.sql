-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "diagnosis" JSONB;
