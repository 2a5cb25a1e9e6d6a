-- CreateEnum
CREATE TYPE "launcher" AS ENUM ('SCRIPT', 'FUTURES');

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "launcher" "launcher" NOT NULL DEFAULT 'SCRIPT';
