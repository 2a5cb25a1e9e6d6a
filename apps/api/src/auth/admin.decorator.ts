import { SetMetadata } from '@nestjs/common';

export const IS_ADMIN = 'mpiaas:admin';

/** A route of the admin API: it needs ADMIN_API_KEY, not a tenant's key. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(IS_ADMIN, true);
