import { ApiProperty } from '@nestjs/swagger';
import type { ErrorBody } from '@mpiaas/contracts';

export class ErrorBodyDto implements ErrorBody {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['np must not be greater than 64'],
    description: 'What went wrong; a list with one entry per broken rule for validation errors.',
  })
  message!: string | string[];
  @ApiProperty({ description: 'Also in the x-correlation-id response header and in the server logs.' })
  correlationId!: string;
}
