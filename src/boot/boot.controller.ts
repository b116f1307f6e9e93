import { Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import type { RequestWithRawBody } from '../auth/raw-body';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { BootAttestationService } from './boot-attestation.service';
import { BootAttestationRequest } from './dto/boot-attestation.request';
import { BootAttestationResponse } from './dto/boot-attestation.response';

@Controller('servers/boot')
export class BootController {
  constructor(
    private readonly boot: BootAttestationService,
    private readonly identity: ClientIdentityService,
  ) {}

  @Post('attestation')
  @HttpCode(200)
  @AnonymousRateLimited()
  @ApiDoc({
    summary: 'Boot attestation: a fresh TDX quote in, the root-disk passphrase and a one-time boot token out',
    tag: 'boot',
    auth: 'none',
    body: BootAttestationRequest,
    response: BootAttestationResponse,
    headers: [
      { name: 'X-Chutes-Nonce', description: 'the nonce from GET /servers/nonce (64 hex), also REPORTDATA[0..32)' },
      { name: 'X-Chutes-Hotkey', description: 'gen C: the miner hotkey (ss58) that signs the boot; required for sets ≥ GEN_C_MIN_VERSION' },
      { name: 'X-Chutes-Signature', description: 'gen C: hex sr25519 signature over {hotkey}:{X-Chutes-Nonce}:{sha256hex(body)}' },
    ],
    errors: [
      ErrorCode.QUOTE_MALFORMED,
      ErrorCode.QUOTE_UNSUPPORTED,
      ErrorCode.NONCE_INVALID,
      ErrorCode.REPORT_DATA_MISMATCH,
      ErrorCode.CLIENT_CERT_REQUIRED,
      ErrorCode.MEASUREMENT_MISMATCH,
      ErrorCode.QUOTE_SIGNATURE_INVALID,
      ErrorCode.PCK_CHAIN_INVALID,
      ErrorCode.TCB_STATUS_REJECTED,
      ErrorCode.DEBUG_TD,
      ErrorCode.TD_ATTRIBUTES_REFUSED,
      ErrorCode.NO_ROOT_KEY,
      ErrorCode.SIGNATURE_MISSING,
      ErrorCode.SIGNATURE_INVALID,
      ErrorCode.VERSION_TOO_OLD,
      ErrorCode.MINER_BLOCKED,
      ErrorCode.IDENTITY_HOST_MISMATCH,
      ErrorCode.RATE_LIMITED,
      ErrorCode.COLLATERAL_UNAVAILABLE,
      ErrorCode.DATABASE_UNAVAILABLE,
    ],
  })
  attest(
    @Body() body: BootAttestationRequest,
    @Headers('x-chutes-nonce') nonce: unknown,
    @Req() request: RequestWithRawBody,
  ): Promise<BootAttestationResponse> {
    return this.boot.attest(body, {
      clientIp: this.identity.ip(request),
      clientKeyHash: this.identity.keyHash(request),
      nonceHeader: nonce,
      headers: request.headers,
      rawBody: request.rawBody,
    });
  }
}
