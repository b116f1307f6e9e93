import { Controller, Get, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { canonicalSs58 } from '../common/validation/ss58';
import { BootNonceQuery } from './dto/boot-nonce.query';
import { NonceResponse } from './dto/nonce.response';
import { NonceService } from './nonce.service';

@Controller('servers')
export class NonceController {
  constructor(
    private readonly nonces: NonceService,
    private readonly identity: ClientIdentityService,
  ) {}

  @Get('nonce')
  @AnonymousRateLimited()
  @ApiDoc({
    summary: 'A boot nonce bound to the caller IP (and, with ?miner_hotkey=, to that miner), for REPORTDATA[0..32) of the boot quote',
    tag: 'boot',
    auth: 'none',
    query: BootNonceQuery,
    response: NonceResponse,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.RATE_LIMITED, ErrorCode.DATABASE_UNAVAILABLE],
  })
  async bootNonce(@Req() request: FastifyRequest, @Query() query: BootNonceQuery): Promise<NonceResponse> {
    const minerHotkey = query.miner_hotkey === undefined ? null : canonicalSs58(query.miner_hotkey);
    const issued = await this.nonces.issue('boot', this.identity.ip(request), null, minerHotkey);
    return { nonce: issued.nonce, expires_at: issued.expiresAt.toISOString() };
  }
}
