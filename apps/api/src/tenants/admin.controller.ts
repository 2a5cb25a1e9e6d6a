import { Body, Controller, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { ApiKeyView, CreatedApiKey, TenantView } from '@mpiaas/contracts';
import { AdminOnly } from '../auth/admin.decorator';
import { ErrorBodyDto } from '../common/error-body.dto';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { CreateApiKeyDto, CreateTenantDto, UpdateTenantDto } from './dto/tenant-requests.dto';
import { ApiKeyViewDto, CreatedApiKeyDto, TenantViewDto } from './dto/tenant-views.dto';
import { TenantsService } from './tenants.service';

/** The admin API: every route needs `Authorization: Bearer <ADMIN_API_KEY>`; without ADMIN_API_KEY it answers 404. */
@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A malformed id or body: `message` lists each broken rule.' })
@ApiUnauthorizedResponse({ type: ErrorBodyDto, description: 'No admin key, or not the right one.' })
@Controller('admin')
export class AdminController {
  constructor(private readonly tenants: TenantsService) {}

  @Post('tenants')
  @ApiCreatedResponse({ type: TenantViewDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The name is taken.' })
  async createTenant(@Body() body: CreateTenantDto): Promise<TenantView> {
    return this.tenants.create(body.name, body.quotas);
  }

  @Get('tenants')
  @ApiOkResponse({ type: [TenantViewDto] })
  async listTenants(): Promise<TenantView[]> {
    return this.tenants.list();
  }

  @Get('tenants/:id')
  @ApiOkResponse({ type: TenantViewDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async getTenant(@Param('id', UuidParamPipe) id: string): Promise<TenantView> {
    return this.tenants.get(id);
  }

  @Patch('tenants/:id')
  @ApiOkResponse({ type: TenantViewDto, description: 'Quotas named are set (null: back to the default); the others are left.' })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async updateTenant(@Param('id', UuidParamPipe) id: string, @Body() body: UpdateTenantDto): Promise<TenantView> {
    return this.tenants.updateQuotas(id, body.quotas);
  }

  @Post('tenants/:id/api-keys')
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key is in this answer only.' })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async createKey(@Param('id', UuidParamPipe) id: string, @Body() body: CreateApiKeyDto): Promise<CreatedApiKey> {
    return this.tenants.createKey(id, body.name);
  }

  @Get('tenants/:id/api-keys')
  @ApiOkResponse({ type: [ApiKeyViewDto] })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async listKeys(@Param('id', UuidParamPipe) id: string): Promise<ApiKeyView[]> {
    return this.tenants.listKeys(id);
  }

  @Delete('api-keys/:id')
  @ApiOkResponse({ type: ApiKeyViewDto, description: 'Revoked: requests with it get 401 from now on.' })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async revokeKey(@Param('id', UuidParamPipe) id: string): Promise<ApiKeyView> {
    return this.tenants.revokeKey(id);
  }
}
