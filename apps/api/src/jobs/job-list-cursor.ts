import { BadRequestException } from '@nestjs/common';

/** Position in the newest-first list: the (createdAt, id) of the last job of a page. */
export interface JobListPosition {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Opaque to clients: base64url of "<epoch ms>.<id>". */
export function encodeJobListCursor(position: JobListPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}.${position.id}`).toString('base64url');
}

export function decodeJobListCursor(cursor: string): JobListPosition {
  const [millis, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  const createdAt = new Date(Number(millis));
  if (rest.length > 0 || !/^\d{1,15}$/.test(millis ?? '') || !UUID.test(id ?? '') || Number.isNaN(createdAt.getTime())) {
    throw new BadRequestException('cursor is malformed: pass the nextCursor of a previous page');
  }
  return { createdAt, id: id! };
}
