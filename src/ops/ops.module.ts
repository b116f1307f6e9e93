/** Liveness, readiness, metrics and the OpenAPI document. */
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MetricsService } from './metrics.service';
import { OpenApiDocument } from './openapi-document';
import { OpsController } from './ops.controller';
import { ReadinessFacts } from './readiness-facts';

@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [OpsController],
  providers: [MetricsService, OpenApiDocument, ReadinessFacts],
  exports: [MetricsService, ReadinessFacts],
})
export class OpsModule {}
