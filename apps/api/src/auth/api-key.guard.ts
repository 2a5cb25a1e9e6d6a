import { type CanActivate, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { apiKeyHash } from './api-key-secret';
import { ApiKeyRepository } from './api-key.repository';
import { IS_PUBLIC } from './public.decorator';

/** With AUTH_MODE=api-key, lets a request through only with a valid, unrevoked bearer key. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.config.authMode === 'none') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new UnauthorizedException('an API key is required: Authorization: Bearer <key>');
    if (!(await this.keys.findActive(apiKeyHash(match[1])))) {
      throw new UnauthorizedException('the API key is not valid (unknown or revoked)');
    }
    return true;
  }
}
