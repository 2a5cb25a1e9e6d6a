import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { ApiKeyView, CreatedApiKey, TenantView } from '@mpiaas/contracts';
import { issueApiKey } from '../auth/api-key-secret';
import { ApiKeyRepository } from '../auth/api-key.repository';
import { CallerCache } from '../auth/caller-cache';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import type { QuotaChangesDto } from './dto/quotas.dto';
import { toApiKeyView, toTenantView } from './tenant-view.mapper';
import { type QuotaChanges, TenantRepository } from './tenant.repository';

/** The admin API: tenants, their quotas and their keys. */
@Injectable()
export class TenantsService {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly tenants: TenantRepository,
    private readonly keys: ApiKeyRepository,
    private readonly callers: CallerCache,
  ) {}

  async create(name: string, quotas: QuotaChangesDto = {}): Promise<TenantView> {
    const tenant = await this.tenants.create(name, changes(quotas));
    if (!tenant) throw new ConflictException(`name: a tenant named "${name}" already exists`);
    return toTenantView(tenant, this.config.defaultQuotas);
  }

  async list(): Promise<TenantView[]> {
    return (await this.tenants.list()).map((tenant) => toTenantView(tenant, this.config.defaultQuotas));
  }

  async get(id: string): Promise<TenantView> {
    return toTenantView(await this.require(id), this.config.defaultQuotas);
  }

  async updateQuotas(id: string, quotas: QuotaChangesDto): Promise<TenantView> {
    const tenant = await this.tenants.updateQuotas(id, changes(quotas));
    if (!tenant) throw notFound(id);
    this.callers.clear();
    return toTenantView(tenant, this.config.defaultQuotas);
  }

  async createKey(tenantId: string, name: string): Promise<CreatedApiKey> {
    await this.require(tenantId);
    const { key, record } = issueApiKey(tenantId, name);
    return { ...toApiKeyView(await this.keys.create(record)), key };
  }

  async listKeys(tenantId: string): Promise<ApiKeyView[]> {
    await this.require(tenantId);
    return (await this.keys.listOfTenant(tenantId)).map(toApiKeyView);
  }

  /** From now on a request with this key gets 401 (on other api replicas within CALLER_CACHE_MS). */
  async revokeKey(id: string): Promise<ApiKeyView> {
    const key = await this.keys.revoke(id);
    if (!key) throw new NotFoundException(`API key ${id} not found`);
    this.callers.clear();
    return toApiKeyView(key);
  }

  private async require(id: string) {
    const tenant = await this.tenants.findById(id);
    if (!tenant) throw notFound(id);
    return tenant;
  }
}

const notFound = (id: string) => new NotFoundException(`tenant ${id} not found`);

/** Only the quotas the request names: absent ones are left as they are. */
function changes(quotas: QuotaChangesDto): QuotaChanges {
  return Object.fromEntries(Object.entries(quotas).filter(([, value]) => value !== undefined)) as QuotaChanges;
}
