import type { INestApplication, Type } from '@nestjs/common';
import { useContainer } from 'class-validator';

/**
 * class-validator builds constraint classes itself; these come from Nest instead, so they
 * can be injected (the config). Everything else falls back to class-validator's own
 * container. Its container is per process: one app per process, as in production (and in
 * each test file, where apps share one config's bounds).
 */
export function resolveConstraintsFromNest(app: INestApplication, constraints: Type[]): void {
  const instances = new Map<unknown, unknown>(constraints.map((constraint) => [constraint, app.get(constraint)]));
  useContainer({ get: (someClass: unknown) => instances.get(someClass) }, { fallback: true });
}
