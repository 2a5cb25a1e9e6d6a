import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/public.decorator';
import { ErrorBodyDto } from '../common/error-body.dto';
import { type Readiness, HealthService } from './health.service';

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: the process answers. Dependencies are /readyz's business. */
  @Get('healthz')
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Postgres, Redis and the queue answer. */
  @Get('readyz')
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { database: 'ok', redis: 'ok', queue: 'ok' } } } })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto })
  async readyz(): Promise<{ status: 'ok'; checks: Readiness }> {
    const checks = await this.health.readiness();
    const failed = Object.entries(checks).filter(([, result]) => result !== 'ok');
    if (failed.length > 0) {
      throw new ServiceUnavailableException(`not ready: ${failed.map(([name, why]) => `${name} (${why})`).join(', ')}`);
    }
    return { status: 'ok', checks };
  }
}
