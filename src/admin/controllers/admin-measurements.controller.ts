import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth, CallerHotkey } from '../../auth';
import { ErrorCode } from '../../common/errors';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { CreateMeasurementSetRequest, MeasurementNameQuery, MeasurementVersionParams, RetireMeasurementQuery } from '../dto/measurement-set.request';
import { MeasurementSetListResponse, MeasurementSetResponse, RetirementDryRunResponse } from '../dto/measurement-set.response';
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
    summary:
      'Register a measurement set (same shape as a flat MEASUREMENTS_FILE entry; root_passphrase is write-only). Sets are immutable per (name, version): an existing one is 409',
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
  @ApiDoc({
    summary: 'One measurement set by version (?name= picks one when several GPU flavours share the version: 409 otherwise)',
    tag: 'admin',
    auth: 'admin',
    query: MeasurementNameQuery,
    response: MeasurementSetResponse,
    errors: [...ADMIN_AUTH_ERRORS, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_FAILED, ErrorCode.MEASUREMENT_SET_AMBIGUOUS],
  })
  get(@Param() params: MeasurementVersionParams, @Query() query: MeasurementNameQuery): Promise<MeasurementSetResponse> {
    return this.measurements.get(params.version, query.name);
  }

  @Delete(':version')
  @ApiDoc({
    summary:
      'Retire a measurement set: kept for audit, no longer matched. Idempotent: retiring a retired set answers 200 with its first retired_at. ?name= picks one set when several GPU flavours share the version (409 otherwise). ' +
      'With ?dry_run=true nothing is retired and the answer is {dry_run: true, sets: [{name, version}], servers: [...], vms: [...], vms_since}: the registered servers whose latest verified attestation matched the set, and the VMs with a verified boot on it in the last 30 days',
    tag: 'admin',
    auth: 'admin',
    query: RetireMeasurementQuery,
    response: MeasurementSetResponse,
    alternativeResponses: [RetirementDryRunResponse],
    errors: [...ADMIN_AUTH_ERRORS, ErrorCode.NOT_FOUND, ErrorCode.VALIDATION_FAILED, ErrorCode.MEASUREMENT_SET_AMBIGUOUS],
  })
  retire(
    @Param() params: MeasurementVersionParams,
    @Query() query: RetireMeasurementQuery,
    @CallerHotkey() admin: string,
  ): Promise<MeasurementSetResponse | RetirementDryRunResponse> {
    if (query.dry_run === 'true') return this.measurements.retireDryRun(params.version, query.name);
    return this.measurements.retire(params.version, admin, query.name);
  }
}
