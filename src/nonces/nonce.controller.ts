import { Controller, Get, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { ApiDoc } from '../openapi/api-doc.decorator';
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
    summary: 'A boot nonce bound to the caller IP, for REPORTDATA[0..32) of the boot quote',
    tag: 'boot',
    auth: 'none',
    response: NonceResponse,
    errors: [ErrorCode.RATE_LIMITED, ErrorCode.DATABASE_UNAVAILABLE],
  })
  async bootNonce(@Req() request: FastifyRequest): Promise<NonceResponse> {
    const issued = await this.nonces.issue('boot', this.identity.ip(request));
    return { nonce: issued.nonce, expires_at: issued.expiresAt.toISOString() };
  }
}
