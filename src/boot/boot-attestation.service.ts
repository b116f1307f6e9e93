/**
 * Boot attestation: a VM's initramfs proves itself and gets its root-disk passphrase. Checks
 * run cheapest first and nothing is released unless all pass (DESIGN.md "Boot attestation"):
 *   1 nonce (consumed whatever happens next) — then miner admission
 *   2 quote structure  3 REPORTDATA binding  4 measurements  5 DCAP + TCB policy  6 DEBUG
 * and the matched set must hold a root key. Every attempt writes a boot_attestations row;
 * the VM only ever sees status + code.
 */
import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58 } from '../common/validation/ss58';
import { sha256Hex } from '../common/crypto/hashing';
import { NonceService } from '../nonces/nonce.service';
import { MeasurementSetsService } from '../measurements/measurement-sets.service';
import { MinersService } from '../miners/miners.service';
import { MetricsService } from '../ops/metrics.service';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';
import { AppraisalRecord, emptyAppraisalRecord, QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { BootAttempt, BootAuditService } from './boot-audit.service';
import { BootTokensService } from './boot-tokens.service';
import { KeyReleaseAuditService } from './key-release-audit.service';
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
    private readonly dataSource: DataSource,
    private readonly nonces: NonceService,
    private readonly appraisal: QuoteAppraisalService,
    private readonly measurementSets: MeasurementSetsService,
    private readonly tokens: BootTokensService,
    private readonly audit: BootAuditService,
    private readonly keyReleases: KeyReleaseAuditService,
    private readonly miners: MinersService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  async attest(received: BootAttestationRequest, caller: BootCaller): Promise<BootAttestationResponse> {
    // One spelling of a hotkey everywhere (tokens, volume keys, servers): ss58 prefix 42.
    const request = { ...received, miner_hotkey: canonicalSs58(received.miner_hotkey) };
    const record = emptyAppraisalRecord();
    const createdAt = this.clock.now();
    let quoteSha256: string | null = null;
    const attempt = (outcome: 'verified' | 'failed', errorCode: string | null): BootAttempt => ({
      createdAt,
      minerHotkey: request.miner_hotkey,
      vmName: request.vm_name,
      clientIp: caller.clientIp,
      quoteSha256,
      outcome,
      errorCode,
      ...record,
    });
    try {
      const nonce = typeof caller.nonceHeader === 'string' ? caller.nonceHeader.trim().toLowerCase() : '';
      await this.checkNonceAndMiner(nonce, request.miner_hotkey, caller.clientIp, record);
      const raw = this.decode(request.quote, record);
      quoteSha256 = sha256Hex(raw);
      const quote = this.appraisal.parse(raw, record);
      const { set } = await this.appraisal.appraise(raw, quote, { kind: 'boot', nonce: Buffer.from(nonce, 'hex'), keyHash: caller.clientKeyHash }, record);
      const rootPassphrase = this.measurementSets.rootPassphrase(set);
      record.verdict.root_key = rootPassphrase ? 'released' : 'none';
      if (!rootPassphrase) throw new DomainError(ErrorCode.NO_ROOT_KEY, 'the matched measurement set has no root passphrase');
      try {
        return await this.release(request, attempt('verified', null), rootPassphrase);
      } finally {
        rootPassphrase.fill(0);
      }
    } catch (error) {
      if (!(error instanceof DomainError)) throw error; // database down, bugs: not an attestation verdict
      await this.audit.record(attempt('failed', error.code));
      this.metrics.attestations.inc({ kind: 'boot', outcome: 'failed', code: error.code });
      this.logger.warn({ vmName: request.vm_name, minerHotkey: request.miner_hotkey, clientIp: caller.clientIp, code: error.code }, 'boot attestation refused');
      throw error;
    }
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

  private decode(quote: string, record: AppraisalRecord): Buffer {
    try {
      return decodeQuoteBase64(quote);
    } catch (error) {
      record.verdict.quote = ErrorCode.QUOTE_MALFORMED;
      throw error;
    }
  }

  /** Audit row, boot token and key-release event in one transaction; the key leaves only after commit. */
  private async release(request: BootAttestationRequest, attempt: BootAttempt, rootPassphrase: Buffer): Promise<BootAttestationResponse> {
    const binding = { minerHotkey: request.miner_hotkey, vmName: request.vm_name };
    const token = await this.dataSource.transaction(async (manager) => {
      const attestationId = await this.audit.record(attempt, manager);
      const issued = await this.tokens.issue(binding, attestationId, manager);
      await this.keyReleases.record({ kind: 'root', createdAt: attempt.createdAt, ...binding, attestationId, clientIp: attempt.clientIp, returned: ['root'] }, manager);
      return issued;
    });
    this.metrics.attestations.inc({ kind: 'boot', outcome: 'verified', code: 'OK' });
    this.logger.log({ vmName: request.vm_name, minerHotkey: request.miner_hotkey, measurement: attempt.measurementVersion }, 'boot attestation verified; root key released');
    return { key: rootPassphrase.toString('utf8'), boot_token: token };
  }
}
