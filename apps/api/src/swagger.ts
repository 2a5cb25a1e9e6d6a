import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { CORRELATION_HEADER } from '@mpiaas/contracts';
import type { ApiConfig } from './config/api-config';

/** OpenAPI at /docs-json, Swagger UI at /docs. */
export function setUpSwagger(app: INestApplication, config: ApiConfig): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('mpiaas')
      .setDescription(
        `MPI as a service: submit an mpi4py script and a process count, follow its ranks' output. ` +
          `Every response carries an \`${CORRELATION_HEADER}\` header (yours, if you sent one).`,
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key (when the server runs with AUTH_MODE=api-key)' })
      .build(),
  );
  // Every operation may need the key; the health checks never do.
  document.security = config.authMode === 'api-key' ? [{ bearer: [] }] : [];
  setConfiguredBounds(document, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

/** Decorators are static; the bounds that come from the config are filled in here. */
function setConfiguredBounds(document: OpenAPIObject, config: ApiConfig): void {
  const properties = (document.components?.schemas?.CreateJobDto as { properties?: Record<string, Record<string, unknown>> })
    ?.properties;
  if (properties?.np) properties.np.maximum = config.maxNp;
  if (properties?.timeoutSeconds) {
    properties.timeoutSeconds.maximum = config.maxTimeoutSeconds;
    properties.timeoutSeconds.default = config.defaultTimeoutSeconds;
  }
}
