import { Controller, Get } from '@nestjs/common';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { PublishedMeasurementView } from './dto/published-measurement.response';
import { PublishedMeasurementsService } from './published-measurements.service';

/** Public: a static path, so Fastify routes it before the hotkey-signed `GET /servers/{server_id}`. */
@Controller('servers')
export class MeasurementsController {
  constructor(private readonly published: PublishedMeasurementsService) {}

  @Get('tee/measurements')
  @AnonymousRateLimited()
  @ApiDoc({
    summary:
      'The published measurement sets (active, release candidates left out) in the Chutes shape; boot RTMR3 is 96 zeros when a set does not check it; hex lowercase; cached 60 s',
    tag: 'measurements',
    auth: 'none',
    responseArrayOf: PublishedMeasurementView,
    errors: [ErrorCode.RATE_LIMITED, ErrorCode.DATABASE_UNAVAILABLE],
  })
  list(): Promise<PublishedMeasurementView[]> {
    return this.published.list();
  }
}
