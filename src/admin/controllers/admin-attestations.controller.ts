import { Controller, Get, Query } from '@nestjs/common';
import { ADMIN_AUTH_ERRORS, AdminAuth } from '../../auth';
import { ApiDoc } from '../../openapi/api-doc.decorator';
import { AttestationAuditQuery } from '../dto/attestation-audit.query';
import { AttestationAuditPage } from '../dto/attestation-audit.response';
import { AttestationAuditService } from '../services/attestation-audit.service';

@Controller('admin/attestations')
@AdminAuth()
export class AdminAttestationsController {
  constructor(private readonly audit: AttestationAuditService) {}

  @Get()
  @ApiDoc({
    summary:
      'Audit trail of attestation attempts, newest first: kind=boot (boot_attestations), kind=runtime (server_attestations: registration and runtime rows, each item with its stored kind), or both; paged by next_cursor',
    tag: 'admin',
    auth: 'admin',
    query: AttestationAuditQuery,
    response: AttestationAuditPage,
    errors: [...ADMIN_AUTH_ERRORS],
  })
  list(@Query() query: AttestationAuditQuery): Promise<AttestationAuditPage> {
    return this.audit.page(query);
  }
}
