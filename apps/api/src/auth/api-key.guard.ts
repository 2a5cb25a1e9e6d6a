import type { IncomingHttpHeaders } from 'node:http';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { API_CONFIG, type ApiConfig } from '../config/api-config';
import { IS_ADMIN } from './admin.decorator';
import { sameSecret } from './api-key-secret';
import type { RequestWithCaller } from './caller';
import { CallerResolver } from './caller-resolver';
import { IS_PUBLIC } from './public.decorator';

/**
 * Every request but public ones: an admin route needs ADMIN_API_KEY; any other route acts for
 * a tenant (request.caller) — the key's with AUTH_MODE=api-key, the default one with 'none'.
 */
/** What the guard reads of a request. */
type Request = { headers: IncomingHttpHeaders };

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly reflector: Reflector,
    private readonly callers: CallerResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<Request & RequestWithCaller>();
    if (this.reflector.getAllAndOverride<boolean>(IS_ADMIN, targets)) return this.checkAdmin(request);
    if (this.config.authMode === 'none') {
      request.caller = await this.callers.anonymous();
      return true;
    }
    const key = bearerToken(request);
    if (!key) throw new UnauthorizedException('an API key is required: Authorization: Bearer <key>');
    const caller = await this.callers.ofKey(key);
    if (!caller) throw new UnauthorizedException('the API key is not valid (unknown or revoked)');
    request.caller = caller;
    return true;
  }

  /** The admin API exists only when ADMIN_API_KEY is set, whatever AUTH_MODE says. */
  private checkAdmin(request: Request): boolean {
    const expected = this.config.adminApiKey;
    if (expected === undefined) throw new NotFoundException('the admin API is disabled: set ADMIN_API_KEY to enable it');
    const key = bearerToken(request);
    if (!key) throw new UnauthorizedException('the admin API needs the admin key: Authorization: Bearer <ADMIN_API_KEY>');
    if (!sameSecret(key, expected)) throw new UnauthorizedException('the admin key is not valid');
    return true;
  }
}

function bearerToken(request: Request): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}
