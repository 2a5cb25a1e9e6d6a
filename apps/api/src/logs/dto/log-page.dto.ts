import { ApiProperty } from '@nestjs/swagger';
import type { LogItem, LogPage, LogStreamName } from '@mpiaas/contracts';
import { LOG_STREAMS } from './log-query.dto';

export class LogItemDto implements LogItem {
  @ApiProperty() rank!: number;
  @ApiProperty({ enum: LOG_STREAMS }) stream!: LogStreamName;
  @ApiProperty({ description: "Position of this chunk in its rank's stream, from 0." }) seq!: number;
  @ApiProperty() text!: string;
}

export class LogPageDto implements LogPage {
  @ApiProperty({ type: [LogItemDto], description: 'In the order they were stored.' }) items!: LogItemDto[];
  @ApiProperty({ description: 'Pass as `cursor` to continue; equals the given cursor when nothing new was stored.' })
  nextCursor!: string;
}
