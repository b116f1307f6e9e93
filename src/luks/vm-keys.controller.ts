import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { callerOf, HOTKEY_AUTH_ERRORS, HotkeyAuth } from '../auth';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58 } from '../common/validation/ss58';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { VmNameParams } from './dto/luks.dto';
import {
  RestoreKeyRequest,
  RestoreKeyResponse,
  ShredKeysRequest,
  ShredKeysResponse,
  toRestoreKeyResponse,
  toVmKeysResponse,
  VmKeysQuery,
  VmKeysResponse,
} from './dto/vm-keys.dto';
import { KeyActor, VmKeysService } from './vm-keys.service';

/** Miner key management: a miner's own VMs; an admin any miner's, named with `?hotkey=`. */
@Controller('vms')
@HotkeyAuth()
export class VmKeysController {
  constructor(
    private readonly keys: VmKeysService,
    private readonly identity: ClientIdentityService,
  ) {}

  @Get(':vm_name/keys')
  @ApiDoc({
    summary:
      "A VM's volume key generations, metadata only (volume, generation, state, created_at, and the attestation and client IP that caused it); admins: any miner's with ?hotkey=",
    tag: 'keys',
    auth: 'hotkey',
    query: VmKeysQuery,
    response: VmKeysResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.NOT_ADMIN, ErrorCode.NOT_FOUND],
  })
  async list(@Param() params: VmNameParams, @Query() query: VmKeysQuery, @Req() request: FastifyRequest): Promise<VmKeysResponse> {
    const { vm } = this.subject(request, params.vm_name, query);
    return toVmKeysResponse(await this.keys.list(vm));
  }

  @Post(':vm_name/keys/restore')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Make a kept generation of a volume current again (the current one becomes superseded); audited as restore and replaced events. 404 if shredded',
    tag: 'keys',
    auth: 'hotkey',
    query: VmKeysQuery,
    body: RestoreKeyRequest,
    response: RestoreKeyResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.NOT_ADMIN, ErrorCode.KEY_GENERATION_NOT_FOUND],
  })
  async restore(
    @Param() params: VmNameParams,
    @Query() query: VmKeysQuery,
    @Body() body: RestoreKeyRequest,
    @Req() request: FastifyRequest,
  ): Promise<RestoreKeyResponse> {
    const { vm, actor } = this.subject(request, params.vm_name, query);
    return toRestoreKeyResponse(await this.keys.restore(vm, body.volume, body.generation, actor));
  }

  @Delete(':vm_name/keys')
  @ApiDoc({
    summary: 'Shred every generation of every volume key of the VM (body {"confirm": "<vm_name>"}); cannot be undone; audited as a shred event',
    tag: 'keys',
    auth: 'hotkey',
    query: VmKeysQuery,
    body: ShredKeysRequest,
    response: ShredKeysResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.NOT_ADMIN, ErrorCode.NOT_FOUND],
  })
  async shred(
    @Param() params: VmNameParams,
    @Query() query: VmKeysQuery,
    @Body() body: ShredKeysRequest,
    @Req() request: FastifyRequest,
  ): Promise<ShredKeysResponse> {
    const { vm, actor } = this.subject(request, params.vm_name, query);
    return { shredded: await this.keys.shred(vm, body.confirm, actor) };
  }

  /** Whose VM, and who acts: the caller on its own VM, or an admin on `?hotkey=`'s. */
  private subject(request: FastifyRequest, vmName: string, query: VmKeysQuery): { vm: { minerHotkey: string; vmName: string }; actor: KeyActor } {
    const caller = callerOf(request);
    const clientIp = this.identity.ip(request);
    const owner = query.hotkey === undefined ? caller.hotkey : canonicalSs58(query.hotkey);
    if (owner !== caller.hotkey && !caller.isAdmin) throw new DomainError(ErrorCode.NOT_ADMIN, "only admins may manage another miner's keys");
    return { vm: { minerHotkey: owner, vmName }, actor: { hotkey: caller.hotkey, role: owner === caller.hotkey ? 'miner' : 'admin', clientIp } };
  }
}
