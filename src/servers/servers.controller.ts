import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CallerHotkey, HOTKEY_AUTH_ERRORS, HotkeyAuth } from '../auth';
import { ClientIdentityService } from '../common/client/client-identity.service';
import { ErrorCode } from '../common/errors';
import { ApiDoc } from '../openapi/api-doc.decorator';
import {
  AttestationStatusResponse,
  DeleteServerQuery,
  DeleteServerResponse,
  MessageResponse,
  RegisterServerRequest,
  RenameServerQuery,
  RuntimeAttestationRequest,
  RuntimeAttestationResponse,
  RuntimeNonceResponse,
  ServerIdParams,
  ServerListResponse,
  ServerNameOrIdParams,
  ServerView,
} from './dto/server.dto';
import { RuntimeAttestationService } from './runtime-attestation.service';
import { ServersService } from './servers.service';

const QUOTE_ERRORS = [
  ErrorCode.QUOTE_MALFORMED,
  ErrorCode.QUOTE_UNSUPPORTED,
  ErrorCode.REPORT_DATA_MISMATCH,
  ErrorCode.MEASUREMENT_MISMATCH,
  ErrorCode.QUOTE_SIGNATURE_INVALID,
  ErrorCode.PCK_CHAIN_INVALID,
  ErrorCode.TCB_STATUS_REJECTED,
  ErrorCode.DEBUG_TD,
  ErrorCode.TD_ATTRIBUTES_REFUSED,
  ErrorCode.COLLATERAL_UNAVAILABLE,
];

@Controller('servers')
@HotkeyAuth()
export class ServersController {
  constructor(
    private readonly servers: ServersService,
    private readonly runtime: RuntimeAttestationService,
    private readonly identity: ClientIdentityService,
  ) {}

  @Post()
  @ApiDoc({
    summary:
      "Register a server: fetches fresh evidence from its attestation service (signed with the VM's vm_auth key after a gen-C boot, else the validator key), checks the service's TLS certificate against the VM's root CA when its boot recorded one, then quote, TLS binding, runtime measurements and GPUs",
    tag: 'servers',
    auth: 'hotkey',
    body: RegisterServerRequest,
    response: MessageResponse,
    status: 201,
    errors: [
      ...HOTKEY_AUTH_ERRORS,
      ...QUOTE_ERRORS,
      ErrorCode.SERVER_EXISTS,
      ErrorCode.SERVER_NAME_TAKEN,
      ErrorCode.GPU_ALREADY_REGISTERED,
      ErrorCode.GPU_MISMATCH,
      ErrorCode.GPU_EVIDENCE_INVALID,
      ErrorCode.GPU_VERIFIER_UNAVAILABLE,
      ErrorCode.PRIVATE_HOST,
      ErrorCode.HOST_UNRESOLVABLE,
      ErrorCode.ATTESTATION_SERVICE_UNREACHABLE,
      ErrorCode.ATTESTATION_SERVICE_INVALID,
      ErrorCode.ATTESTATION_SERVICE_REFUSED,
      ErrorCode.VM_ROOT_CA_MISMATCH,
    ],
  })
  register(@CallerHotkey() hotkey: string, @Body() body: RegisterServerRequest, @Req() request: FastifyRequest): Promise<MessageResponse> {
    return this.servers.register(hotkey, body, this.identity.ip(request));
  }

  @Get()
  @ApiDoc({ summary: "The caller's servers", tag: 'servers', auth: 'hotkey', response: ServerListResponse, errors: [...HOTKEY_AUTH_ERRORS] })
  async list(@CallerHotkey() hotkey: string): Promise<ServerListResponse> {
    return { items: await this.servers.list(hotkey) };
  }

  @Get(':server_id')
  @ApiDoc({
    summary: "One of the caller's servers",
    tag: 'servers',
    auth: 'hotkey',
    response: ServerView,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.SERVER_NOT_FOUND],
  })
  show(@CallerHotkey() hotkey: string, @Param() params: ServerIdParams): Promise<ServerView> {
    return this.servers.view(hotkey, params.server_id);
  }

  @Patch(':server_id')
  @ApiDoc({
    summary:
      "Rename a server (its volume keys stay under the VM name it registered with); the name may not be another of the caller's servers' id, name or VM name",
    tag: 'servers',
    auth: 'hotkey',
    query: RenameServerQuery,
    response: ServerView,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.SERVER_NOT_FOUND, ErrorCode.SERVER_NAME_TAKEN],
  })
  rename(@CallerHotkey() hotkey: string, @Param() params: ServerIdParams, @Query() query: RenameServerQuery): Promise<ServerView> {
    return this.servers.rename(hotkey, params.server_id, query.server_name);
  }

  @Delete(':server_name_or_id')
  @ApiDoc({
    summary:
      "Remove a server. Its VM's volume keys are kept (re-adding the server finds them again); with destroy_keys=true the keys of its own vm_name are shredded in the same transaction. `by=id|name` when the path is one server's id and another's name",
    tag: 'servers',
    auth: 'hotkey',
    query: DeleteServerQuery,
    response: DeleteServerResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.SERVER_NOT_FOUND, ErrorCode.SERVER_NAME_AMBIGUOUS],
  })
  async remove(
    @CallerHotkey() hotkey: string,
    @Param() params: ServerNameOrIdParams,
    @Query() query: DeleteServerQuery,
    @Req() request: FastifyRequest,
  ): Promise<DeleteServerResponse> {
    const destroyKeys = query.destroy_keys === 'true';
    const removed = await this.servers.remove(hotkey, params.server_name_or_id, { by: query.by, destroyKeys }, this.identity.ip(request));
    return {
      message: `server ${removed.serverId} removed; volume keys of ${removed.vmName} ${destroyKeys ? 'shredded' : 'kept'}`,
      server_id: removed.serverId,
      vm_name: removed.vmName,
      keys_kept: !destroyKeys,
      destroyed_volumes: [...new Set(removed.shredded.map((ref) => ref.volume))].sort(),
    };
  }

  @Get(':server_id/nonce')
  @ApiDoc({
    summary: 'A runtime nonce bound to the server; the caller must be the server itself (its host address)',
    tag: 'servers',
    auth: 'hotkey',
    response: RuntimeNonceResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.SERVER_NOT_FOUND, ErrorCode.CALLER_NOT_SERVER],
  })
  nonce(@CallerHotkey() hotkey: string, @Param() params: ServerIdParams, @Req() request: FastifyRequest): Promise<RuntimeNonceResponse> {
    return this.runtime.nonce(this.caller(hotkey, request), params.server_id);
  }

  @Post(':server_id/attestation')
  @HttpCode(200)
  @ApiDoc({
    summary: 'Runtime attestation: REPORTDATA = runtime nonce || SHA-256(caller TLS key); MRTD + RTMR0..3 against runtime_rtmrs',
    tag: 'servers',
    auth: 'hotkey',
    body: RuntimeAttestationRequest,
    response: RuntimeAttestationResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ...QUOTE_ERRORS, ErrorCode.SERVER_NOT_FOUND, ErrorCode.NONCE_INVALID, ErrorCode.CLIENT_CERT_REQUIRED],
  })
  attest(
    @CallerHotkey() hotkey: string,
    @Param() params: ServerIdParams,
    @Body() body: RuntimeAttestationRequest,
    @Req() request: FastifyRequest,
  ): Promise<RuntimeAttestationResponse> {
    return this.runtime.attest(this.caller(hotkey, request), params.server_id, body.quote);
  }

  @Get(':server_id/attestation/status')
  @ApiDoc({
    summary: 'The latest runtime attestation of a server',
    tag: 'servers',
    auth: 'hotkey',
    response: AttestationStatusResponse,
    errors: [...HOTKEY_AUTH_ERRORS, ErrorCode.SERVER_NOT_FOUND],
  })
  status(@CallerHotkey() hotkey: string, @Param() params: ServerIdParams): Promise<AttestationStatusResponse> {
    return this.runtime.status(hotkey, params.server_id);
  }

  private caller(hotkey: string, request: FastifyRequest) {
    return { minerHotkey: hotkey, clientIp: this.identity.ip(request), clientKeyHash: this.identity.keyHash(request) };
  }
}
