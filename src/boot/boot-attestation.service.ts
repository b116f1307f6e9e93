/**
 * Boot attestation: a VM's initramfs proves itself and gets its root-disk passphrase. Checks
 * run cheapest first and nothing is released unless all pass (DESIGN.md "Boot attestation"):
 *   1 nonce (consumed whatever happens next) — then miner admission and boot identity pinning
 *     (a VM name registered as a server boots only from that server's host address)
 *   2 quote structure  3 REPORTDATA binding  4 measurements  5 DCAP + TCB policy  6 DEBUG
 * and the matched set must hold a root key. Every attempt, an unexpected failure included,
 * writes one boot_attestations row (the audited-attempt pipeline); the VM only ever sees status + code.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { normalizeIp } from '../common/client/client-identity';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58 } from '../common/validation/ss58';
import { sha256Hex } from '../common/crypto/hashing';
import { NonceService } from '../nonces/nonce.service';
import { MeasurementSetsService } from '../measurements/measurement-sets.service';
import { MinersService } from '../miners/miners.service';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';
import { AppraisalRecord, QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { AttemptInProgress, AuditedAttempts } from '../audit/audited-attempts.service';
import { KeyReleaseEventsRepository } from '../audit/key-release-events.repository';
import { resolveHost } from '../servers/host-policy';
import { ServersRepository } from '../servers/servers.repository';
import { BootTokensService } from '../boot-tokens/boot-tokens.service';
import { BootAttestationRequest } from './dto/boot-attestation.request';
import { BootAttestationResponse } from './dto/boot-attestation.response';

export interface BootCaller {
  clientIp: string;
  /** SHA-256 hex of the client certificate's SPKI, if one was presented. */
  clientKeyHash?: string;
  /** The X-Chutes-Nonce header as received. */
  nonceHeader: unknown;
}

@Injectable()
export class BootAttestationService {
  private readonly logger = new Logger('boot');

  constructor(
    private readonly nonces: NonceService,
    private readonly appraisal: QuoteAppraisalService,
    private readonly measurementSets: MeasurementSetsService,
    private readonly tokens: BootTokensService,
    private readonly attempts: AuditedAttempts,
    private readonly keyReleases: KeyReleaseEventsRepository,
    private readonly miners: MinersService,
    private readonly servers: ServersRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async attest(received: BootAttestationRequest, caller: BootCaller): Promise<BootAttestationResponse> {
    // One spelling of a hotkey everywhere (tokens, volume keys, servers): ss58 prefix 42.
    const request = { ...received, miner_hotkey: canonicalSs58(received.miner_hotkey) };
    const subject = { kind: 'boot' as const, minerHotkey: request.miner_hotkey, vmName: request.vm_name, clientIp: caller.clientIp };
    return this.attempts.run(subject, async (attempt) => {
      const { record } = attempt;
      const nonce = typeof caller.nonceHeader === 'string' ? caller.nonceHeader.trim().toLowerCase() : '';
      await this.checkNonceAndMiner(nonce, request.miner_hotkey, caller.clientIp, record);
      await this.checkIdentityPinning(request.miner_hotkey, request.vm_name, caller.clientIp, record);
      const raw = this.decode(request.quote, record);
      attempt.quoteSha256 = sha256Hex(raw);
      const quote = this.appraisal.parse(raw, record);
      const { set } = await this.appraisal.appraise(raw, quote, { kind: 'boot', nonce: Buffer.from(nonce, 'hex'), keyHash: caller.clientKeyHash }, record);
      const rootPassphrase = this.measurementSets.rootPassphrase(set);
      record.verdict.root_key = rootPassphrase ? 'released' : 'none';
      if (!rootPassphrase) throw new DomainError(ErrorCode.NO_ROOT_KEY, 'the matched measurement set has no root passphrase');
      try {
        return await this.release(request, caller.clientIp, attempt, rootPassphrase);
      } finally {
        rootPassphrase.fill(0);
      }
    });
  }

  /** Check 1: the nonce is consumed by this very statement, whatever the later checks say. */
  private async checkNonceAndMiner(nonce: string, hotkey: string, clientIp: string, record: AppraisalRecord): Promise<void> {
    const nonceVerdict = await this.nonces.consume(nonce, 'boot', clientIp);
    record.verdict.nonce = nonceVerdict;
    if (nonceVerdict !== 'ok') throw new DomainError(ErrorCode.NONCE_INVALID, 'nonce is missing, unknown, expired, or was issued to another client');
    const admission = await this.miners.admission(hotkey);
    record.verdict.miner = admission;
    if (admission === 'blocked') throw new DomainError(ErrorCode.MINER_BLOCKED, 'this miner is blocked');
    if (admission === 'not_allowed') throw new DomainError(ErrorCode.MINER_NOT_ALLOWED, 'this miner is not on the allowlist');
  }

  /**
   * Boot identity pinning (BOOT_IDENTITY_PINNING=registered-host): `miner_hotkey` and `vm_name`
   * are only claims, so a boot naming a VM the miner registered as a server must come from that
   * server's host address — else any genuine TD could claim another VM's name and have its
   * volumes rekeyed. A VM name not registered is not pinned.
   */
  private async checkIdentityPinning(hotkey: string, vmName: string, clientIp: string, record: AppraisalRecord): Promise<void> {
    if (this.config.bootIdentityPinning === 'off') {
      record.verdict.identity = 'not_pinned';
      return;
    }
    const registered = await this.servers.registeredForVm(hotkey, vmName);
    if (registered.length === 0) {
      record.verdict.identity = 'unregistered';
      return;
    }
    const hosts: { server_id: string; host: string; addresses: string[] }[] = [];
    for (const server of registered) {
      const addresses = (await resolveHost(server.host).catch(() => [] as string[])).map(normalizeIp);
      if (addresses.includes(clientIp)) {
        record.verdict.identity = { result: 'registered_host', server_id: server.id };
        return;
      }
      hosts.push({ server_id: server.id, host: server.host, addresses });
    }
    record.verdict.identity = { result: 'host_mismatch', client_ip: clientIp, registered: hosts };
    throw new DomainError(
      ErrorCode.IDENTITY_HOST_MISMATCH,
      "this VM name is registered to a server at another address; boots must come from the server's host",
    );
  }

  private decode(quote: string, record: AppraisalRecord): Buffer {
    try {
      return decodeQuoteBase64(quote);
    } catch (error) {
      record.verdict.quote = ErrorCode.QUOTE_MALFORMED;
      throw error;
    }
  }

  /** Audit row, boot token and key-release event in one transaction; the key leaves only after commit. */
  private async release(
    request: BootAttestationRequest,
    clientIp: string,
    attempt: AttemptInProgress,
    rootPassphrase: Buffer,
  ): Promise<BootAttestationResponse> {
    const binding = { minerHotkey: request.miner_hotkey, vmName: request.vm_name };
    let token: string;
    try {
      token = await attempt.succeed(async (tx, attestationId) => {
        const issued = await this.tokens.issue(binding, attestationId, tx);
        await this.keyReleases.insert({ kind: 'root', createdAt: attempt.createdAt, ...binding, attestationId, clientIp, returned: ['root'] }, tx);
        return issued;
      });
    } catch (error) {
      attempt.record.verdict.root_key = 'withheld'; // the failed row must not claim a release that rolled back
      throw error;
    }
    this.logger.log(
      { vmName: request.vm_name, minerHotkey: request.miner_hotkey, measurement: attempt.record.measurementVersion },
      'boot attestation verified; root key released',
    );
    return { key: rootPassphrase.toString('utf8'), boot_token: token };
  }
}
