import { Readable } from 'node:stream';
import { Controller, Get, Param, ParseIntPipe, Query, StreamableFile } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { LogPage } from '@mpiaas/contracts';
import { type Caller, CurrentCaller } from '../auth/caller';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { LogPageDto } from './dto/log-page.dto';
import { LogQueryDto } from './dto/log-query.dto';
import { LogsService } from './logs.service';

const RankPipe = new ParseIntPipe({ optional: false });
const TEXT = 'text/plain; charset=utf-8';

@ApiTags('logs')
@ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A malformed id, body or query: `message` lists each broken rule.' })
@Controller('jobs/:id')
export class LogsController {
  constructor(private readonly logs: LogsService) {}

  @Get('logs')
  @ApiOkResponse({ type: LogPageDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async page(@Param('id', UuidParamPipe) id: string, @Query() query: LogQueryDto, @CurrentCaller() caller: Caller): Promise<LogPage> {
    return this.logs.page(id, caller.tenantId, query);
  }

  @Get('ranks/:rank/stdout')
  @ApiProduces(TEXT)
  @ApiOkResponse({ description: "The rank's whole stdout.", schema: { type: 'string' } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async stdout(
    @Param('id', UuidParamPipe) id: string,
    @Param('rank', RankPipe) rank: number,
    @CurrentCaller() caller: Caller,
  ): Promise<StreamableFile> {
    return this.text(await this.logs.streamText(id, caller.tenantId, rank, 'stdout'));
  }

  @Get('ranks/:rank/stderr')
  @ApiProduces(TEXT)
  @ApiOkResponse({ description: "The rank's whole stderr.", schema: { type: 'string' } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async stderr(
    @Param('id', UuidParamPipe) id: string,
    @Param('rank', RankPipe) rank: number,
    @CurrentCaller() caller: Caller,
  ): Promise<StreamableFile> {
    return this.text(await this.logs.streamText(id, caller.tenantId, rank, 'stderr'));
  }

  private text(parts: AsyncIterable<string>): StreamableFile {
    return new StreamableFile(Readable.from(parts), { type: TEXT });
  }
}
