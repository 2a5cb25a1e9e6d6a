import type { Tenant } from '@mpiaas/db';
import { QUOTA_NAMES, type TenantQuotas } from '@mpiaas/contracts';

/** A tenant's own quotas: the columns it set (null columns follow the configured defaults). */
export function quotaOverrides(tenant: Tenant): Partial<TenantQuotas> {
  const own: Partial<TenantQuotas> = {};
  for (const name of QUOTA_NAMES) {
    const value = tenant[name];
    if (value !== null) own[name] = value;
  }
  return own;
}

/** The quotas in force for a tenant: its own where set, else the defaults. */
export function effectiveQuotas(tenant: Tenant, defaults: TenantQuotas): TenantQuotas {
  return { ...defaults, ...quotaOverrides(tenant) };
}
