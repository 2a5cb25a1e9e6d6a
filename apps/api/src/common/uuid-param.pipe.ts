import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';

/** `@Param('id', UuidParamPipe)`: a malformed id is a 400, not a database error. */
export const UuidParamPipe = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id must be a UUID'),
});
