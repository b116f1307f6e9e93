/**
 * Boot attestation: a VM's initramfs proves itself and gets its root-disk passphrase. Checks
 * run cheapest first and nothing is released unless all pass (DESIGN.md "Boot attestation"):
 *   1 nonce (consumed whatever happens next) — then miner admission and boot identity pinning
 *     (a VM name registered as a server boots only from that server's host address)
 *   2 quote structure  3 REPORTDATA binding  4 measurements  5 DCAP + TCB policy  6 DEBUG
 * and the matched set must hold a root key. Every attempt, an unexpected failure included,
 * writes one boot_attestations row (the audited-attempt pipeline); the VM only ever sees status + code.
 *
 * Gen C (DESIGN.md "Chutes VM ≥ 1.3 protocol"): a boot may be signed by the miner's hotkey over
 * `{hotkey}:{nonce}:{sha256(body)}`; a valid signature proves the hotkey (release candidates match
 * only for a proven listed hotkey), a wrong one is 401, and sets of version ≥ GEN_C_MIN_VERSION
 * require it. Their VMs get a per-VM root key (rotated at every boot: `root_next`, confirmed later),
 * a fresh vm_auth key, and no boot token; every boot gets a `luks_quote_nonce` for its runtime quote.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { normalizeIp } from '../common/client/client-identity';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58 } from '../common/validation/ss58';
import { sha256Hex } from '../common/crypto/hashing';
import { semverAtLeast } from '../common/validation/version-order';
import { readPossessionProof } from '../auth/possession-proof';
import type { HeaderBag } from '../auth/signed-request';
import type { Executor } from '../database/executor';
import { KeyRotationService } from '../key-rotation/key-rotation.service';
import { VmAuthService } from '../vm-auth/vm-auth.service';
import type { MeasurementSet } from '../measurements/measurement-set.types';
import { NonceService } from '../nonces/nonce.service';
import { MeasurementSetsService } from '../measurements/measurement-sets.service';
import { MinersService } from '../miners/miners.service';
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
  /** The request headers (the miner's signature, gen C) and the exact body bytes it signs. */
  headers?: HeaderBag;
  rawBody?: Uint8Array;
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
    private readonly rotation: KeyRotationService,
    private readonly vmAuth: VmAuthService,
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
      const provenHotkey = this.checkMinerSignature(caller, nonce, request.miner_hotkey, record);
      await this.checkIdentityPinning(request.miner_hotkey, request.vm_name, caller.clientIp, record);
      const raw = this.appraisal.decode(request.quote, record);
      attempt.quoteSha256 = sha256Hex(raw);
      const quote = this.appraisal.parse(raw, record);
      const { set } = await this.appraisal.appraise(
        raw,
        quote,
        { kind: 'boot', nonce: Buffer.from(nonce, 'hex'), keyHash: caller.clientKeyHash, provenHotkey },
        record,
      );
      const genC = semverAtLeast(set.version, this.config.genCMinVersion);
      record.verdict.protocol = genC ? 'gen_c' : 'gen_b';
      if (genC && !provenHotkey) {
        throw new DomainError(
          ErrorCode.SIGNATURE_MISSING,
          `images of version ${this.config.genCMinVersion} and later must sign their boot with the miner hotkey`,
        );
      }
      const rootPassphrase = this.measurementSets.rootPassphrase(set);
      try {
        if (genC) return await this.releaseGenC(request, caller.clientIp, attempt, set, rootPassphrase);
        record.verdict.root_key = rootPassphrase ? 'released' : 'none';
        if (!rootPassphrase) throw new DomainError(ErrorCode.NO_ROOT_KEY, 'the matched measurement set has no root passphrase');
        return await this.release(request, caller.clientIp, attempt, set, rootPassphrase);
      } finally {
        rootPassphrase?.fill(0);
      }
    });
  }

  /**
   * The miner's signature (gen C), after the nonce is spent: absent → nothing proven; present →
   * it must verify over this boot's nonce and name the hotkey the body claims (401 otherwise).
   */
  private checkMinerSignature(caller: BootCaller, nonce: string, claimedHotkey: string, record: AppraisalRecord): string | undefined {
    try {
      const proof = readPossessionProof(caller.headers ?? {}, caller.rawBody, nonce);
      if (!proof.proven) {
        record.verdict.signature = 'absent';
        return undefined;
      }
      if (proof.hotkey !== claimedHotkey) {
        throw new DomainError(ErrorCode.SIGNATURE_INVALID, 'the signing hotkey (X-Chutes-Hotkey) differs from miner_hotkey');
      }
      record.verdict.signature = 'valid';
      return proof.hotkey;
    } catch (error) {
      record.verdict.signature = error instanceof DomainError ? 'invalid' : 'error';
      throw error;
    }
  }

  /** Check 1: the nonce is consumed by this very statement, whatever the later checks say. */
  private async checkNonceAndMiner(nonce: string, hotkey: string, clientIp: string, record: AppraisalRecord): Promise<void> {
    const nonceVerdict = await this.nonces.consume(nonce, 'boot', clientIp, null, undefined, hotkey);
    record.verdict.nonce = nonceVerdict;
    if (nonceVerdict === 'wrong_hotkey') throw new DomainError(ErrorCode.NONCE_INVALID, 'this nonce was issued for another miner hotkey');
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

  /** Gen B: audit row, boot token, quote nonce, boot state and key-release event in one transaction; the key leaves only after commit. */
  private async release(
    request: BootAttestationRequest,
    clientIp: string,
    attempt: AttemptInProgress,
    set: MeasurementSet,
    rootPassphrase: Buffer,
  ): Promise<BootAttestationResponse> {
    const binding = { minerHotkey: request.miner_hotkey, vmName: request.vm_name };
    let issued: { token: string; quoteNonce: string };
    try {
      issued = await attempt.succeed(async (tx, attestationId) => {
        const token = await this.tokens.issue(binding, attestationId, tx);
        const quoteNonce = await this.recordBoot(binding, attestationId, clientIp, set, attempt.createdAt, false, tx);
        await this.keyReleases.insert({ kind: 'root', createdAt: attempt.createdAt, ...binding, attestationId, clientIp, returned: ['root'] }, tx);
        return { token, quoteNonce: quoteNonce.nonce };
      });
    } catch (error) {
      attempt.record.verdict.root_key = 'withheld'; // the failed row must not claim a release that rolled back
      throw error;
    }
    this.logger.log(
      { vmName: request.vm_name, minerHotkey: request.miner_hotkey, measurement: attempt.record.measurementVersion },
      'boot attestation verified; root key released',
    );
    return {
      key: rootPassphrase.toString('utf8'),
      boot_token: issued.token,
      luks_quote_nonce: issued.quoteNonce,
      root_next: null,
      root_confirm_nonce: null,
      vm_auth_ss58: null,
    };
  }

  /**
   * Gen C, in one transaction with the verified audit row: the VM's root key (its current root
   * generation, or the set's passphrase on a first boot or when it has none; see
   * key-rotation/rotation-plan.ts) and a pending `root_next`, the root confirm nonce, the quote
   * nonce and a fresh vm_auth key. Nothing leaves before COMMIT.
   */
  private async releaseGenC(
    request: BootAttestationRequest,
    clientIp: string,
    attempt: AttemptInProgress,
    set: MeasurementSet,
    rootPassphrase: Buffer | null,
  ): Promise<BootAttestationResponse> {
    const vm = { minerHotkey: request.miner_hotkey, vmName: request.vm_name };
    const { record } = attempt;
    // Which key and why (fallback, first boot) is in the root key-release event: it is decided in the transaction.
    record.verdict.root_key = 'released';
    try {
      const answer = await attempt.succeed(async (tx, attestationId) => {
        const now = attempt.createdAt;
        await this.rotation.lockVm(vm, now, tx);
        const root = await this.rotation.issue(
          vm,
          'root',
          { firstBoot: request.first_boot === true, defaultKey: rootPassphrase },
          { attestationId, clientIp, now },
          tx,
        );
        const confirmNonce = await this.rotation.issueConfirmNonce(vm, 'root', attestationId, now, tx);
        const quoteNonce = await this.recordBoot(vm, attestationId, clientIp, set, now, true, tx);
        const rootDetail = { handed_out: root.handedOut, reason: root.reason, next_generation: root.nextGeneration, first_boot: request.first_boot === true };
        await this.keyReleases.insert(
          { kind: 'root', createdAt: now, ...vm, attestationId, clientIp, returned: ['root'], created: ['root_next'], detail: rootDetail },
          tx,
        );
        return {
          key: root.key!,
          luks_quote_nonce: quoteNonce.nonce,
          root_next: root.next,
          root_confirm_nonce: confirmNonce,
          vm_auth_ss58: quoteNonce.vmAuthSs58!,
          detail: rootDetail,
        };
      });
      this.logger.log(
        { vmName: request.vm_name, minerHotkey: request.miner_hotkey, measurement: record.measurementVersion, rootKey: answer.detail.reason },
        'gen-C boot attestation verified; root key and root_next released',
      );
      const { detail: _detail, ...response } = answer;
      return response;
    } catch (error) {
      record.verdict.root_key = 'withheld';
      throw error;
    }
  }

  /** The boot's quote nonce and the VM's boot state (with a new vm_auth key for gen C), in `tx`. */
  private async recordBoot(
    vm: { minerHotkey: string; vmName: string },
    attestationId: string,
    clientIp: string,
    set: MeasurementSet,
    now: Date,
    genC: boolean,
    tx: Executor,
  ): Promise<{ nonce: string; vmAuthSs58: string | null }> {
    const quoteNonce = await this.nonces.issueQuoteNonce(vm, attestationId, clientIp, tx);
    const vmAuthSs58 = await this.vmAuth.recordBoot(
      { ...vm, attestationId, measurementSetId: set.id, measurementVersion: set.version, clientIp, bootedAt: now },
      genC,
      tx,
    );
    return { nonce: quoteNonce.nonce, vmAuthSs58 };
  }
}
