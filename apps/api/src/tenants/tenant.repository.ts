import { Inject, Injectable } from '@nestjs/common';
import { Prisma, PrismaClient, type Tenant } from '@mpiaas/db';
import type { TenantQuotas } from '@mpiaas/contracts';

/** Quota columns to write: a number sets one, null puts it back to the default, absent leaves it. */
export type QuotaChanges = { [name in keyof TenantQuotas]?: number | null };

/** The Tenant aggregate in Postgres. */
@Injectable()
export class TenantRepository {
  constructor(@Inject(PrismaClient) private readonly db: PrismaClient) {}

  /** The new tenant, or null when the name is taken. */
  async create(name: string, quotas: QuotaChanges): Promise<Tenant | null> {
    try {
      return await this.db.tenant.create({ data: { name, ...quotas } });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
      throw error;
    }
  }

  async list(): Promise<Tenant[]> {
    return this.db.tenant.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  async findById(id: string): Promise<Tenant | null> {
    return this.db.tenant.findUnique({ where: { id } });
  }

  async findByName(name: string): Promise<Tenant | null> {
    return this.db.tenant.findUnique({ where: { name } });
  }

  /** The tenant with its quotas changed; null when there is no such tenant. */
  async updateQuotas(id: string, quotas: QuotaChanges): Promise<Tenant | null> {
    const { count } = await this.db.tenant.updateMany({ where: { id }, data: quotas });
    return count === 0 ? null : this.findById(id);
  }
}
