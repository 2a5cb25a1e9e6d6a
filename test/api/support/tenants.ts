// Tenants and keys made through the admin API, for tests that act as several tenants.
import request from 'supertest';
import type { TenantQuotas } from '@mpiaas/contracts';
import type { ApiHarness } from './api-harness';

/** The admin key tests start the api with (ADMIN_API_KEY). */
export const ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789';

export interface TestTenant {
  id: string;
  key: string;
  keyId: string;
  /** `Authorization` header value of its key. */
  auth: string;
}

/** A new tenant (unique name) with one key, through POST /admin/tenants and …/api-keys. */
export async function newTenant(api: ApiHarness, name: string, quotas: Partial<TenantQuotas> = {}): Promise<TestTenant> {
  const admin = `Bearer ${ADMIN_KEY}`;
  const tenant = await request(api.server).post('/admin/tenants').set('authorization', admin).send({ name, quotas }).expect(201);
  const key = await request(api.server)
    .post(`/admin/tenants/${tenant.body.id as string}/api-keys`)
    .set('authorization', admin)
    .send({ name: `${name}-key` })
    .expect(201);
  return { id: tenant.body.id as string, key: key.body.key as string, keyId: key.body.id as string, auth: `Bearer ${key.body.key as string}` };
}
