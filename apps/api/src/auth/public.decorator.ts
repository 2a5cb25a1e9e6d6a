import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'mpiaas:public';

/** A route that needs no API key (health checks: probes carry no credentials). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
