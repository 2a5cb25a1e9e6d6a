import { Inject, Injectable } from '@nestjs/common';
import { type ApiKey, PrismaClient, type Tenant } from '@mpiaas/db';

/** How stale `lastUsedAt` may get: writing it on every request would cost more than the request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface NewApiKey {
  tenantId: string;
  name: string;
  prefix: string;
  keyHash: string;
}

/** The ApiKey aggregate in Postgres. */
@Injectable()
export class ApiKeyRepository {
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  /** The key with this hash and its tenant, unless it was revoked. */
  async findActive(keyHash: string): Promise<(ApiKey & { tenant: Tenant }) | null> {
    return this.db.apiKey.findFirst({ where: { keyHash, revokedAt: null }, include: { tenant: true } });
  }

  /** Records that the key was used now, unless that was recorded less than a minute ago. */
  async touch(key: ApiKey): Promise<void> {
    const now = Date.now();
    if (key.lastUsedAt && now - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    await this.db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: new Date(now) } });
  }

  async create(key: NewApiKey): Promise<ApiKey> {
    return this.db.apiKey.create({ data: key });
  }

  async listOfTenant(tenantId: string): Promise<ApiKey[]> {
    return this.db.apiKey.findMany({ where: { tenantId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  /** Revokes a key (kept, for the record); null when there is no such key. Revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiKey | null> {
    await this.db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return this.db.apiKey.findUnique({ where: { id } });
  }
}
