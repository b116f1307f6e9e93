import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { ErrorCode } from '../common/errors';
import { AnonymousRateLimited } from '../common/rate-limit/anon-rate-limit.guard';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { invalidBootToken } from '../boot-tokens/boot-tokens.service';
import { LegacyLuksQuery, LegacyLuksResponse, LuksSyncRequest, VmNameParams } from './dto/luks.dto';
import { LuksService, SyncAnswer } from './luks.service';

@Controller('servers')
export class LuksController {
  constructor(
    private readonly luks: LuksService,
    private readonly identity: ClientIdentityService,
  ) {}

  @Post(':vm_name/luks')
  @HttpCode(200)
  @AnonymousRateLimited()
  @ApiDoc({
    summary:
      'Sync volume passphrases: existing returned, new created, `rekey` ones get a new generation (the old one is kept, superseded), unlisted ones retired (kept); consumes the boot token. An identical retry with the same token within its TTL gets the same answer (at most 3 times). With `previous: true` each volume is `{current, previous: [newest first]}`',
    tag: 'boot',
    auth: 'boot-token',
    body: LuksSyncRequest,
    responseMapOf: {
      oneOf: [
        { type: 'string', description: 'the passphrase (128 hex)' },
        {
          type: 'object',
          description: 'with `previous: true`',
          properties: {
            current: { type: 'string' },
            previous: { type: 'array', items: { type: 'string' }, description: 'retained generations, newest first' },
          },
          required: ['current', 'previous'],
        },
      ],
    },
    headers: [
      { name: 'X-Chutes-Hotkey', description: 'the miner hotkey (ss58) the boot token is bound to' },
      { name: 'X-Boot-Token', description: 'the one-time token from boot attestation' },
    ],
    errors: [ErrorCode.BOOT_TOKEN_INVALID, ErrorCode.RATE_LIMITED, ErrorCode.DATABASE_UNAVAILABLE, ErrorCode.KEY_UNAVAILABLE],
  })
  sync(
    @Param() params: VmNameParams,
    @Body() body: LuksSyncRequest,
    @Headers('x-chutes-hotkey') hotkey: unknown,
    @Headers('x-boot-token') token: unknown,
    @Req() request: FastifyRequest,
  ): Promise<SyncAnswer> {
    if (!isSs58Address(hotkey)) throw invalidBootToken();
    return this.luks.sync({
      minerHotkey: canonicalSs58(hotkey),
      vmName: params.vm_name,
      token,
      volumes: body.volumes,
      rekey: body.rekey ?? [],
      previous: body.previous === true,
      clientIp: this.identity.ip(request),
    });
  }

  @Get(':vm_name/luks')
  @AnonymousRateLimited()
  @ApiDoc({
    summary: 'Legacy: the passphrase of volume `storage`; the boot token must be valid for this hotkey and VM (it is not consumed)',
    tag: 'boot',
    auth: 'boot-token',
    query: LegacyLuksQuery,
    response: LegacyLuksResponse,
    headers: [{ name: 'X-Boot-Token', description: 'the one-time token from boot attestation' }],
    errors: [ErrorCode.BOOT_TOKEN_INVALID, ErrorCode.NOT_FOUND, ErrorCode.RATE_LIMITED],
  })
  async legacy(
    @Param() params: VmNameParams,
    @Query() query: LegacyLuksQuery,
    @Headers('x-boot-token') token: unknown,
    @Req() request: FastifyRequest,
  ): Promise<LegacyLuksResponse> {
    const passphrase = await this.luks.legacyStoragePassphrase(
      token,
      { minerHotkey: canonicalSs58(query.hotkey), vmName: params.vm_name },
      this.identity.ip(request),
    );
    return { passphrase };
  }
}
