import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { FilesController } from './files.controller';
import { objectStoreProvider } from './object-store.provider';

/** GET /jobs/{id}/files and GET /jobs/{id}/files/{path}. */
@Module({
  imports: [JobsModule],
  controllers: [FilesController],
  providers: [objectStoreProvider],
})
export class FilesModule {}
