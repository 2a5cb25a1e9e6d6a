import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TenantRepository } from '../tenants/tenant.repository';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRepository } from './api-key.repository';
import { CallerCache } from './caller-cache';
import { CallerResolver } from './caller-resolver';

/**
 * Who a request acts for (see ApiConfig.authMode and adminApiKey). Registered before the
 * rate limiter's guard, which counts requests per key the caller was found by.
 */
@Module({
  providers: [ApiKeyRepository, TenantRepository, CallerResolver, CallerCache, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeyRepository, TenantRepository, CallerCache],
})
export class AuthModule {}
