import { Inject, Injectable } from '@nestjs/common';
import type { Tenant } from '@mpiaas/db';
import { DEFAULT_TENANT_ID } from '@mpiaas/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { effectiveQuotas } from '../tenants/tenant-quotas';
import { TenantRepository } from '../tenants/tenant.repository';
import { apiKeyHash } from './api-key-secret';
import { ApiKeyRepository } from './api-key.repository';
import type { Caller } from './caller';
import { CallerCache } from './caller-cache';

/** How long the default tenant's row is reused (AUTH_MODE=none): a quota change shows within this. */
const DEFAULT_TENANT_CACHE_MS = 5000;

/** Who a request acts for, from its key (or, with AUTH_MODE=none, the default tenant). */
@Injectable()
export class CallerResolver {
  private defaultTenant: { at: number; tenant: Promise<Tenant> } | undefined;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly keys: ApiKeyRepository,
    private readonly tenants: TenantRepository,
    private readonly cache: CallerCache,
  ) {}

  /** The caller owning this key; null when the key is unknown or revoked (see CallerCache for how soon). */
  async ofKey(key: string): Promise<Caller | null> {
    const keyHash = apiKeyHash(key);
    return this.cache.get(keyHash, async () => {
      const found = await this.keys.findActive(keyHash);
      if (!found) return null;
      await this.keys.touch(found);
      return { tenantId: found.tenantId, keyId: found.id, quotas: effectiveQuotas(found.tenant, this.config.defaultQuotas) };
    });
  }

  /** AUTH_MODE=none: every request acts for the default tenant, with no key. */
  async anonymous(): Promise<Caller> {
    const tenant = await this.cachedDefaultTenant();
    return { tenantId: tenant.id, keyId: null, quotas: effectiveQuotas(tenant, this.config.defaultQuotas) };
  }

  private cachedDefaultTenant(): Promise<Tenant> {
    const now = Date.now();
    if (!this.defaultTenant || now - this.defaultTenant.at > DEFAULT_TENANT_CACHE_MS) {
      const tenant = this.tenants.findById(DEFAULT_TENANT_ID).then((row) => {
        // Made by the tenants migration; gone only if someone deleted it by hand.
        if (!row) throw new Error(`the default tenant ${DEFAULT_TENANT_ID} is missing: run the migrations`);
        return row;
      });
      this.defaultTenant = { at: now, tenant };
      tenant.catch(() => (this.defaultTenant = undefined));
    }
    return this.defaultTenant.tenant;
  }
}
