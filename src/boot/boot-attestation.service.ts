/**
 * Boot attestation: a VM's initramfs proves itself and gets its root-disk passphrase. Checks
 * run cheapest first and nothing is released unless all pass (DESIGN.md "Boot attestation"):
 *   1 nonce (consumed whatever happens next)  2 quote structure  3 REPORTDATA binding
 *   4 measurements  5 DCAP + TCB policy  6 DEBUG attribute  — then the set must hold a root key.
 * Every attempt writes a boot_attestations row; the VM only ever sees status + code.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { constantTimeEqual, sha256Hex } from '../keys/secrets';
import { NonceService } from '../nonces/nonce.service';
import { MeasurementSetsService, toPolicy } from '../measurements/measurement-sets.service';
import { MetricsService } from '../ops/metrics.service';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';
import { isDebugTd } from '../attestation/core/dcap';
import { evaluateMeasurementPolicy } from '../attestation/core/policy/measurement-policy';
import { evaluateDebugPolicy, evaluateTcbPolicy } from '../attestation/core/policy/tcb-policy';
import type { TdxQuote } from '../attestation/core/quote';
import { QuoteVerificationService } from '../attestation/quote-verification.service';
import { tdMeasurements } from '../attestation/quote-tools.service';
import { BootAttempt, BootAuditService, BootVerdict } from './boot-audit.service';
import { BootTokensService } from './boot-tokens.service';
import { KeyReleaseAuditService } from './key-release-audit.service';
import { BootAttestationRequest } from './dto/boot-attestation.request';
import { BootAttestationResponse } from './dto/boot-attestation.response';
import { MinersService } from '../miners/miners.service';
import { canonicalSs58 } from '../common/validation/ss58';

export interface BootCaller {
  clientIp: string;
  /** SHA-256 hex of the client certificate's SPKI, if one was presented. */
  clientKeyHash?: string;
  /** The X-Chutes-Nonce header as received. */
  nonceHeader: unknown;
}

/** A failed check: its error goes to the VM, the attempt (with verdict) to the audit table. */
class BootRefusal extends Error {
  constructor(readonly error: DomainError) {
    super(error.message);
  }
}

@Injectable()
export class BootAttestationService {
  private readonly logger = new Logger('boot');

  constructor(
    private readonly dataSource: DataSource,
    private readonly nonces: NonceService,
    private readonly verification: QuoteVerificationService,
    private readonly measurementSets: MeasurementSetsService,
    private readonly tokens: BootTokensService,
    private readonly audit: BootAuditService,
    private readonly keyReleases: KeyReleaseAuditService,
    private readonly miners: MinersService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async attest(received: BootAttestationRequest, caller: BootCaller): Promise<BootAttestationResponse> {
    // One spelling of a hotkey everywhere (tokens, volume keys, servers): ss58 prefix 42.
    const request = { ...received, miner_hotkey: canonicalSs58(received.miner_hotkey) };
    const verdict: BootVerdict = {};
    const attempt: BootAttempt = {
      createdAt: this.clock.now(),
      minerHotkey: request.miner_hotkey,
      vmName: request.vm_name,
      clientIp: caller.clientIp,
      quoteSha256: null,
      outcome: 'failed',
      errorCode: null,
      measurementName: null,
      measurementVersion: null,
      tcbStatus: null,
      advisoryIds: [],
      verdict,
    };
    const refuse = (code: ErrorCode, message: string) => new BootRefusal(new DomainError(code, message));
    try {
      // 1. nonce: consumed by this very statement, whatever the later checks say.
      const nonce = typeof caller.nonceHeader === 'string' ? caller.nonceHeader.trim().toLowerCase() : '';
      const nonceVerdict = await this.nonces.consume(nonce, 'boot', caller.clientIp);
      verdict.nonce = nonceVerdict;
      if (nonceVerdict !== 'ok') throw refuse(ErrorCode.NONCE_INVALID, 'nonce is missing, unknown, expired, or was issued to another client');

      const admission = await this.miners.admission(request.miner_hotkey);
      verdict.miner = admission;
      if (admission === 'blocked') throw refuse(ErrorCode.MINER_BLOCKED, 'this miner is blocked');
      if (admission === 'not_allowed') throw refuse(ErrorCode.MINER_NOT_ALLOWED, 'this miner is not on the allowlist');

      // 2. structure
      const raw = this.decode(request.quote, verdict);
      attempt.quoteSha256 = sha256Hex(raw);
      const quote = this.parse(raw, verdict);

      // 3. REPORTDATA = nonce || SHA-256(client SPKI)
      this.checkBinding(quote, nonce, caller.clientKeyHash, verdict);

      // 4. measurements (boot registers) against every active set
      const sets = await this.measurementSets.active();
      const measurement = evaluateMeasurementPolicy(tdMeasurements(quote), sets.map(toPolicy), 'boot');
      if (!measurement.matched) {
        verdict.measurement = { matched: false, nearest: measurement.nearest };
        attempt.measurementName = measurement.nearest?.name ?? null;
        attempt.measurementVersion = measurement.nearest?.version ?? null;
        throw refuse(ErrorCode.MEASUREMENT_MISMATCH, 'measurements match no registered measurement set');
      }
      verdict.measurement = { matched: true, name: measurement.name, version: measurement.version };
      attempt.measurementName = measurement.name;
      attempt.measurementVersion = measurement.version;

      // 5. DCAP, then the TCB policy
      await this.checkDcap(raw, quote, attempt, verdict);

      // 6. TD attributes
      const debug = isDebugTd(quote);
      verdict.debug = debug;
      if (!evaluateDebugPolicy(debug).accepted) throw refuse(ErrorCode.DEBUG_TD, 'debug TDs are refused');

      const set = sets.find((candidate) => candidate.version === measurement.version)!;
      const rootPassphrase = this.measurementSets.rootPassphrase(set);
      if (!rootPassphrase) {
        verdict.root_key = 'none';
        throw refuse(ErrorCode.NO_ROOT_KEY, 'the matched measurement set has no root passphrase');
      }
      verdict.root_key = 'released';
      attempt.outcome = 'verified';
      try {
        return await this.release(request, attempt, caller, rootPassphrase);
      } finally {
        rootPassphrase.fill(0);
      }
    } catch (error) {
      const domainError = error instanceof BootRefusal ? error.error : error instanceof DomainError ? error : null;
      if (!domainError) throw error; // database down, bugs: not an attestation verdict
      attempt.outcome = 'failed';
      attempt.errorCode = domainError.code;
      await this.audit.record(attempt);
      this.metrics.attestations.inc({ kind: 'boot', outcome: 'failed', code: domainError.code });
      this.logger.warn({ vmName: request.vm_name, minerHotkey: request.miner_hotkey, clientIp: caller.clientIp, code: domainError.code }, 'boot attestation refused');
      throw domainError;
    }
  }

  private decode(quote: string, verdict: BootVerdict): Buffer {
    try {
      return decodeQuoteBase64(quote);
    } catch (error) {
      verdict.quote = ErrorCode.QUOTE_MALFORMED;
      throw error;
    }
  }

  private parse(raw: Buffer, verdict: BootVerdict): TdxQuote {
    try {
      const quote = this.verification.parse(raw);
      verdict.quote = 'ok';
      return quote;
    } catch (error) {
      verdict.quote = error instanceof DomainError ? error.code : 'error';
      throw error;
    }
  }

  private checkBinding(quote: TdxQuote, nonce: string, clientKeyHash: string | undefined, verdict: BootVerdict): void {
    const reportData = quote.body.reportData;
    if (!constantTimeEqual(reportData.subarray(0, 32), Buffer.from(nonce, 'hex'))) {
      verdict.report_data = 'nonce_mismatch';
      throw new BootRefusal(new DomainError(ErrorCode.REPORT_DATA_MISMATCH, 'REPORTDATA does not bind this nonce and this client key'));
    }
    if (!clientKeyHash) {
      verdict.report_data = 'no_client_certificate';
      throw new BootRefusal(new DomainError(ErrorCode.CLIENT_CERT_REQUIRED, 'a TLS client certificate is required'));
    }
    if (!constantTimeEqual(reportData.subarray(32, 64), Buffer.from(clientKeyHash, 'hex'))) {
      verdict.report_data = 'client_key_mismatch';
      throw new BootRefusal(new DomainError(ErrorCode.REPORT_DATA_MISMATCH, 'REPORTDATA does not bind this nonce and this client key'));
    }
    verdict.report_data = 'ok';
  }

  private async checkDcap(raw: Buffer, quote: TdxQuote, attempt: BootAttempt, verdict: BootVerdict): Promise<void> {
    try {
      const { verified, collateral } = await this.verification.verify(raw, quote);
      attempt.tcbStatus = verified.tcbStatus;
      attempt.advisoryIds = verified.advisoryIds;
      verdict.dcap = { status: 'ok', tcb_status: verified.tcbStatus, fmspc: verified.fmspc, collateral: collateral.origin, collateral_stale: collateral.stale };
    } catch (error) {
      verdict.dcap = { status: error instanceof DomainError ? error.code : 'error' };
      throw error;
    }
    const tcb = evaluateTcbPolicy(attempt.tcbStatus!, this.config.acceptedTcbStatuses);
    verdict.tcb_policy = tcb.accepted ? 'accepted' : 'rejected';
    if (!tcb.accepted) throw new BootRefusal(new DomainError(ErrorCode.TCB_STATUS_REJECTED, `TCB status ${tcb.status} is not accepted`));
  }

  /** Audit row, boot token and key-release event in one transaction; the key leaves only after commit. */
  private async release(request: BootAttestationRequest, attempt: BootAttempt, caller: BootCaller, rootPassphrase: Buffer): Promise<BootAttestationResponse> {
    const binding = { minerHotkey: request.miner_hotkey, vmName: request.vm_name };
    const token = await this.dataSource.transaction(async (manager) => {
      const attestationId = await this.audit.record(attempt, manager);
      const issued = await this.tokens.issue(binding, attestationId, manager);
      await this.keyReleases.record(
        { kind: 'root', createdAt: attempt.createdAt, ...binding, attestationId, clientIp: caller.clientIp, returned: ['root'] },
        manager,
      );
      return issued;
    });
    this.metrics.attestations.inc({ kind: 'boot', outcome: 'verified', code: 'OK' });
    this.logger.log({ vmName: request.vm_name, minerHotkey: request.miner_hotkey, measurement: attempt.measurementVersion }, 'boot attestation verified; root key released');
    return { key: rootPassphrase.toString('utf8'), boot_token: token };
  }
}
