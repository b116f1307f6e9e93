/**
 * A test-only module mounted beside the real ones: it echoes what the service concluded about
 * the caller (client IP, client-key hash) and has a validated body, so tests can observe
 * those through real HTTP(S) requests.
 */
import { Body, Controller, Module, Post, Req } from '@nestjs/common';
import { IsString, MaxLength, Matches } from 'class-validator';
import type { FastifyRequest } from 'fastify';
import { ClientIdentityService } from '../../src/common/client/client-identity.service';
import { ApiDoc } from '../../src/openapi/api-doc.decorator';

export class ProbeBody {
  @IsString()
  @MaxLength(16)
  name: string;

  @Matches(/^[0-9a-f]{4}$/)
  tag: string;
}

@Controller('_probe')
class ProbeController {
  constructor(private readonly identity: ClientIdentityService) {}

  @Post('identity')
  @ApiDoc({ summary: 'test probe', tag: 'test', auth: 'none', body: ProbeBody })
  identityOf(@Req() request: FastifyRequest, @Body() body: ProbeBody) {
    return { ip: this.identity.ip(request), key_hash: this.identity.keyHash(request) ?? null, name: body.name };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
