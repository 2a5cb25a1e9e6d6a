import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRepository } from './api-key.repository';

/** API-key authentication of every route (see ApiConfig.authMode). */
@Module({
  providers: [ApiKeyRepository, { provide: APP_GUARD, useClass: ApiKeyGuard }],
})
export class AuthModule {}
