import type { ApiKey, Tenant } from '@mpiaas/db';
import type { ApiKeyView, TenantQuotas, TenantView } from '@mpiaas/contracts';
import { effectiveQuotas, quotaOverrides } from './tenant-quotas';

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function toTenantView(tenant: Tenant, defaults: TenantQuotas): TenantView {
  return {
    id: tenant.id,
    name: tenant.name,
    quotas: effectiveQuotas(tenant, defaults),
    overrides: quotaOverrides(tenant),
    createdAt: tenant.createdAt.toISOString(),
  };
}

/** Never the hash: a listing says which key is which, not what it is. */
export function toApiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    tenantId: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: iso(key.lastUsedAt),
    revokedAt: iso(key.revokedAt),
  };
}
