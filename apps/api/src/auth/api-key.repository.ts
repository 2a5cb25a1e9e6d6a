import { Inject, Injectable } from '@nestjs/common';
import { type ApiKey, PrismaClient } from '@mpiaas/db';

/** The ApiKey aggregate in Postgres. */
@Injectable()
export class ApiKeyRepository {
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  /** The key with this hash, unless it was revoked. */
  async findActive(keyHash: string): Promise<ApiKey | null> {
    return this.db.apiKey.findFirst({ where: { keyHash, revokedAt: null } });
  }
}
