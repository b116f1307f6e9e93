import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth, CallerHotkey } from '../../auth';
import { ErrorCode } from '../../common/errors';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { CreateMeasurementSetRequest, MeasurementVersionParams } from '../dto/measurement-set.request';
import { MeasurementSetListResponse, MeasurementSetResponse } from '../dto/measurement-set.response';
import { AdminMeasurementsService } from '../services/admin-measurements.service';

@Controller('admin/measurements')
@AdminAuth()
export class AdminMeasurementsController {
  constructor(private readonly measurements: AdminMeasurementsService) {}

  @Get()
  @ApiDoc({
    summary: 'Every measurement set, retired ones included (never a root passphrase)',
    tag: 'admin',
    auth: 'admin',
    response: MeasurementSetListResponse,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  list(): Promise<MeasurementSetListResponse> {
    return this.measurements.list();
  }

  @Post()
  @ApiDoc({
    summary: 'Register a measurement set (same shape as a MEASUREMENTS_FILE entry; root_passphrase is write-only). Versions are immutable: an existing one is 409',
    tag: 'admin',
    auth: 'admin',
    body: CreateMeasurementSetRequest,
    response: MeasurementSetResponse,
    status: 201,
    errors: [...ADMIN_AUTH_ERRORS, ErrorCode.MEASUREMENT_SET_EXISTS],
  })
  create(@Body() body: CreateMeasurementSetRequest, @CallerHotkey() admin: string): Promise<MeasurementSetResponse> {
    return this.measurements.create(body, admin);
  }

  @Get(':version')
  @ApiDoc({ summary: 'One measurement set by version', tag: 'admin', auth: 'admin', response: MeasurementSetResponse, errors: [...ADMIN_AUTH_ERRORS, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_FAILED] })
  get(@Param() params: MeasurementVersionParams): Promise<MeasurementSetResponse> {
    return this.measurements.get(params.version);
  }

  @Delete(':version')
  @ApiDoc({
    summary: 'Retire a measurement set: kept for audit, no longer matched. Idempotent: retiring a retired set answers 200 with its first retired_at',
    tag: 'admin',
    auth: 'admin',
    response: MeasurementSetResponse,
    errors: [...ADMIN_AUTH_ERRORS, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_FAILED],
  })
  retire(@Param() params: MeasurementVersionParams, @CallerHotkey() admin: string): Promise<MeasurementSetResponse> {
    return this.measurements.retire(params.version, admin);
  }
}
