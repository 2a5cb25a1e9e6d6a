import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AdminController } from './admin.controller';
import { TenantsService } from './tenants.service';

/** The admin API (tenants, quotas, keys). */
@Module({
  imports: [AuthModule],
  controllers: [AdminController],
  providers: [TenantsService],
})
export class TenantsModule {}
