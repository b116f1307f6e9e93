import { Body, Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { ApiDoc } from '../openapi/api-doc.decorator';
import type { RequestWithRawBody } from '../auth/raw-body';
import { ConfirmRequest, ConfirmResponse, ProvisionRequest, ProvisionResponse, VmNameParams } from './dto/provision.dto';
import { ProvisionService, VmCaller } from './provision.service';

const QUOTE_ERRORS = [
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.QUOTE_MALFORMED,
  ErrorCode.QUOTE_UNSUPPORTED,
  ErrorCode.QUOTE_NONCE_INVALID,
  ErrorCode.REPORT_DATA_MISMATCH,
  ErrorCode.CLIENT_CERT_REQUIRED,
  ErrorCode.MEASUREMENT_MISMATCH,
  ErrorCode.QUOTE_SIGNATURE_INVALID,
  ErrorCode.PCK_CHAIN_INVALID,
  ErrorCode.TCB_STATUS_REJECTED,
  ErrorCode.DEBUG_TD,
  ErrorCode.TD_ATTRIBUTES_REFUSED,
  ErrorCode.SIGNATURE_MISSING,
  ErrorCode.SIGNATURE_INVALID,
  ErrorCode.RATE_LIMITED,
  ErrorCode.COLLATERAL_UNAVAILABLE,
  ErrorCode.DATABASE_UNAVAILABLE,
  ErrorCode.KEY_UNAVAILABLE,
];
const CONFIRM_ERRORS = [
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.CONFIRM_NONCE_INVALID,
  ErrorCode.SIGNATURE_MISSING,
  ErrorCode.SIGNATURE_INVALID,
  ErrorCode.RATE_LIMITED,
  ErrorCode.DATABASE_UNAVAILABLE,
];
const SIGNED_HEADERS = (nonceHeader: string) => [
  { name: nonceHeader, description: 'the nonce this call spends (64 hex)' },
  { name: 'X-Chutes-Hotkey', description: 'the miner hotkey (ss58)' },
  { name: 'X-Chutes-Nonce', description: `the same value as ${nonceHeader}` },
  { name: 'X-Chutes-Signature', description: 'hex sr25519 over {hotkey}:{X-Chutes-Nonce}:{sha256hex(body)}' },
];

/** The gen-C routes after the boot (Chutes VM 1.4.0 signed, 1.3.x unsigned). */
@Controller('servers')
export class ProvisionController {
  constructor(
    private readonly provisioning: ProvisionService,
    private readonly identity: ClientIdentityService,
  ) {}

  @Post(':vm_name/provision')
  @HttpCode(200)
  @AnonymousRateLimited()
  @ApiDoc({
    summary:
      'Gen C (VM 1.4.0): a runtime quote (REPORTDATA = luks_quote_nonce ‖ SHA-256 of the client certificate SPKI) → each volume `{current, next}` (next pending until the confirm), the k3s key and the storage confirm nonce; records the client certificate as the VM root CA',
    tag: 'boot',
    auth: 'none',
    body: ProvisionRequest,
    response: ProvisionResponse,
    headers: SIGNED_HEADERS('X-Quote-Nonce'),
    errors: QUOTE_ERRORS,
  })
  provision(@Param() params: VmNameParams, @Body() body: ProvisionRequest, @Req() request: RequestWithRawBody): Promise<ProvisionResponse> {
    return this.provisioning.provision(params.vm_name, body, this.caller(request), 'signed');
  }

  @Post(':vm_name/provision/confirm')
  @HttpCode(200)
  @AnonymousRateLimited()
  @ApiDoc({
    summary:
      'Gen C (VM 1.4.0): confirm a rotation — `{volumes: {<volume>: {rotated}}}` promotes (true) or discards (false) the pending generations; root and storage have separate confirm nonces; an identical repeat gets the same answer',
    tag: 'boot',
    auth: 'none',
    body: ConfirmRequest,
    response: ConfirmResponse,
    headers: SIGNED_HEADERS('X-Confirm-Nonce'),
    errors: CONFIRM_ERRORS,
  })
  confirm(@Param() params: VmNameParams, @Body() body: ConfirmRequest, @Req() request: RequestWithRawBody): Promise<ConfirmResponse> {
    return this.provisioning.confirm(params.vm_name, body, this.caller(request), 'signed');
  }

  @Post(':vm_name/luks/attest')
  @HttpCode(200)
  @AnonymousRateLimited()
  @ApiDoc({
    summary: 'VM 1.3.x: as /provision, unsigned and without recording a root CA; refused for VMs that booted a gen-C image',
    tag: 'boot',
    auth: 'none',
    body: ProvisionRequest,
    response: ProvisionResponse,
    headers: [
      { name: 'X-Quote-Nonce', description: 'the luks_quote_nonce of the boot answer (64 hex)' },
      { name: 'X-Chutes-Hotkey', description: 'the miner hotkey (ss58) of the boot' },
    ],
    errors: QUOTE_ERRORS,
  })
  legacyAttest(@Param() params: VmNameParams, @Body() body: ProvisionRequest, @Req() request: RequestWithRawBody): Promise<ProvisionResponse> {
    return this.provisioning.provision(params.vm_name, body, this.caller(request), 'legacy');
  }

  @Post(':vm_name/luks/confirm')
  @HttpCode(200)
  @AnonymousRateLimited()
  @ApiDoc({
    summary: 'VM 1.3.x: as /provision/confirm, unsigned; refused for VMs that booted a gen-C image',
    tag: 'boot',
    auth: 'none',
    body: ConfirmRequest,
    response: ConfirmResponse,
    headers: [
      { name: 'X-Confirm-Nonce', description: 'the confirm nonce (64 hex)' },
      { name: 'X-Chutes-Hotkey', description: 'the miner hotkey (ss58) of the boot' },
    ],
    errors: CONFIRM_ERRORS,
  })
  legacyConfirm(@Param() params: VmNameParams, @Body() body: ConfirmRequest, @Req() request: RequestWithRawBody): Promise<ConfirmResponse> {
    return this.provisioning.confirm(params.vm_name, body, this.caller(request), 'legacy');
  }

  private caller(request: RequestWithRawBody): VmCaller {
    return { clientIp: this.identity.ip(request), certificate: this.identity.certificate(request), headers: request.headers, rawBody: request.rawBody };
  }
}
