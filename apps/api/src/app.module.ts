import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import type { ApiConfig } from './config/api-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { LogsModule } from './logs/logs.module';
import { DiagnosisModule } from './diagnosis/diagnosis.module';
import { ProfileModule } from './profile/profile.module';
import { MetricsModule } from './metrics/metrics.module';
import { RateLimitModule } from './quotas/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { TenantsModule } from './tenants/tenants.module';
import { UiModule } from './ui/ui.module';
import { UsageModule } from './usage/usage.module';
import { FilesModule } from './files/files.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  /** The config is passed in, never read here: tests build the app with their own. */
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        RedisModule,
        // The order of these two is the order of their guards: who calls, then how often.
        AuthModule,
        RateLimitModule,
        JobsModule,
        LogsModule,
        DiagnosisModule,
        ProfileModule,
        FilesModule,
        WebhooksModule,
        EventsModule,
        HealthModule,
        UsageModule,
        TenantsModule,
        MetricsModule,
        UiModule,
      ],
    };
  }
}
