import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { QuotaChangesDto } from './quotas.dto';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const NAME_RULE = 'must be letters, digits, ".", "_" or "-", starting with a letter or digit';

/** POST /admin/tenants */
export class CreateTenantDto {
  @ApiProperty({ example: 'physics-lab', maxLength: 64, pattern: NAME.source })
  @IsString()
  @MaxLength(64)
  @Matches(NAME, { message: `name ${NAME_RULE}` })
  name!: string;

  @ApiPropertyOptional({ type: QuotaChangesDto, description: 'Quotas it does not set follow the server defaults.' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => QuotaChangesDto)
  quotas?: QuotaChangesDto;
}

/** PATCH /admin/tenants/{id} */
export class UpdateTenantDto {
  @ApiProperty({ type: QuotaChangesDto, example: { maxQueuedJobs: 50, maxNp: null } })
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => QuotaChangesDto)
  quotas!: QuotaChangesDto;
}

/** POST /admin/tenants/{id}/api-keys */
export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci', maxLength: 100, description: 'What the key is for (shown in listings).' })
  @IsString()
  @MaxLength(100)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;
}
