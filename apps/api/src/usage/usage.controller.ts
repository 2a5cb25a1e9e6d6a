import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { UsageView } from '@mpiaas/contracts';
import { type Caller, CurrentCaller } from '../auth/caller';
import { UsageViewDto } from './usage-view.dto';
import { UsageService } from './usage.service';

@ApiTags('usage')
@Controller('usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @ApiOkResponse({ type: UsageViewDto, description: "The caller's tenant: queued and running jobs and ranks, rank-seconds this day and month, quotas." })
  async get(@CurrentCaller() caller: Caller): Promise<UsageView> {
    return this.usage.of(caller);
  }
}
