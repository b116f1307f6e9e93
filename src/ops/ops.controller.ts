import { Controller, Get, Header, Inject } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors';
import { DatabaseRepository } from '../database/database.repository';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { OpenApiDocument } from './openapi-document';
import { MetricsService } from './metrics.service';
import { HealthResponse } from './dto/health.response';
import { ReadinessResponse } from './dto/readiness.response';
import { ReadinessFacts } from './readiness-facts';

@Controller()
export class OpsController {
  constructor(
    private readonly database: DatabaseRepository,
    private readonly metrics: MetricsService,
    private readonly facts: ReadinessFacts,
    @Inject(OpenApiDocument) private readonly openapi: OpenApiDocument,
  ) {}

  @Get('healthz')
  @ApiDoc({ summary: 'Liveness: the process answers', tag: 'operations', auth: 'none', response: HealthResponse })
  healthz(): HealthResponse {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiDoc({
    summary: 'Readiness: the process answers and the database round-trips; says which DCAP trust anchor is in use',
    tag: 'operations',
    auth: 'none',
    response: ReadinessResponse,
    errors: [ErrorCode.DATABASE_UNAVAILABLE],
  })
  async readyz(): Promise<ReadinessResponse> {
    try {
      await this.database.ping();
    } catch {
      throw new DomainError(ErrorCode.DATABASE_UNAVAILABLE, 'database unavailable');
    }
    const measurements = this.facts.measurementsFile;
    return {
      status: 'ok',
      trust_anchor: { ...this.facts.trustAnchor },
      ...(measurements ? { measurements: { ...measurements, skipped: [...measurements.skipped] } } : {}),
    };
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiDoc({
    summary: 'Prometheus metrics',
    tag: 'operations',
    auth: 'none',
    response: { contentType: 'text/plain', description: 'Prometheus text exposition format' },
  })
  metricsText(): Promise<string> {
    return this.metrics.render();
  }

  @Get('openapi.json')
  @ApiDoc({
    summary: 'This OpenAPI 3.1 document',
    tag: 'operations',
    auth: 'none',
    response: { contentType: 'application/json', description: 'OpenAPI 3.1 document' },
  })
  document(): unknown {
    return this.openapi.get();
  }
}
