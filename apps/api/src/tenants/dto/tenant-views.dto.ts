import { ApiProperty } from '@nestjs/swagger';
import type { ApiKeyView, CreatedApiKey, TenantView } from '@mpiaas/contracts';
import { QuotaChangesDto, QuotasDto } from './quotas.dto';

export class TenantViewDto implements TenantView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: QuotasDto, description: 'In force: its own, else the server defaults.' }) quotas!: QuotasDto;
  @ApiProperty({ type: QuotaChangesDto, description: 'The quotas it sets itself.' }) overrides!: Partial<QuotasDto>;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ApiKeyViewDto implements ApiKeyView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: String, nullable: true, example: 'mpk_3fZ9a0Qk', description: 'The first characters of the key.' })
  prefix!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Updated at most once a minute.' })
  lastUsedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt!: string | null;
}

export class CreatedApiKeyDto extends ApiKeyViewDto implements CreatedApiKey {
  @ApiProperty({ description: 'The key: shown in this answer only (the server keeps its SHA-256).' }) key!: string;
}
