import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { createPrismaClient, type PrismaClient } from '@mpiaas/db';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

export const PRISMA = Symbol('PRISMA');

export const prismaProvider: Provider = {
  provide: PRISMA,
  inject: [WORKER_CONFIG],
  useFactory: (config: WorkerConfig): PrismaClient => createPrismaClient(config.DATABASE_URL),
};

/** Closes the pool when the worker stops. */
@Injectable()
export class PrismaShutdown implements OnApplicationShutdown {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
