/**
 * The one audited-attempt pipeline of boot, registration and runtime attestation: every attempt
 * writes exactly one audit row, whatever happens. A success writes its `verified` row inside the
 * transaction that releases (so a rolled-back release leaves no verified row); any failure —
 * a refusal (DomainError), the database, a bug — writes one `failed` row with its code
 * (`INTERNAL` for the unexpected) and is rethrown unchanged, so the caller still gets its status.
 */
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { isDatabaseUnavailable } from '../common/errors/database-unavailable';
import { Database, Executor } from '../database/executor';
import { MetricsService } from '../ops/metrics.service';
import { AppraisalRecord, emptyAppraisalRecord } from '../attestation/quote-appraisal.service';
import { AttestationAttempt, AttestationAuditRepository, AttestationKind } from './attestation-audit.repository';

/** Who attempts what, known before any check runs. */
export interface AttemptSubject {
  kind: AttestationKind;
  minerHotkey: string | null;
  vmName: string | null;
  clientIp: string | null;
  /** Server attempts: the server id (claimed, at registration). */
  serverId?: string | null;
}

/** An attempt as its checks run: they fill `record` and `quoteSha256`, and end with `succeed`. */
export interface AttemptInProgress {
  /** The attempt's time: its audit row's created_at. */
  readonly createdAt: Date;
  /** Per-check verdict and what matched, as far as the checks got. */
  readonly record: AppraisalRecord;
  quoteSha256: string | null;
  /**
   * Writes the verified row and runs `release` in one transaction, `release` getting that row's
   * id; resolves after COMMIT, so nothing leaves before both are stored. Call once, last.
   */
  succeed<R>(release: (tx: Executor, attestationId: string) => Promise<R>): Promise<R>;
}

/** The audit code of a failure: the DomainError's own, else what the filter will answer. */
export function failureCode(error: unknown): ErrorCode {
  if (error instanceof DomainError) return error.code;
  if (isDatabaseUnavailable(error)) return ErrorCode.DATABASE_UNAVAILABLE;
  return ErrorCode.INTERNAL;
}

class Attempt implements AttemptInProgress {
  readonly record = emptyAppraisalRecord();
  quoteSha256: string | null = null;
  /** True once the verified row is committed: from then on no failed row may follow. */
  committed = false;

  constructor(
    readonly subject: AttemptSubject,
    readonly createdAt: Date,
    private readonly commit: (attempt: Attempt, release: (tx: Executor, attestationId: string) => Promise<unknown>) => Promise<unknown>,
  ) {}

  row(outcome: 'verified' | 'failed', errorCode: string | null): AttestationAttempt {
    return {
      kind: this.subject.kind,
      createdAt: this.createdAt,
      serverId: this.subject.serverId ?? null,
      minerHotkey: this.subject.minerHotkey,
      vmName: this.subject.vmName,
      clientIp: this.subject.clientIp,
      quoteSha256: this.quoteSha256,
      outcome,
      errorCode,
      ...this.record,
    };
  }

  async succeed<R>(release: (tx: Executor, attestationId: string) => Promise<R>): Promise<R> {
    if (this.committed) throw new Error(`${this.subject.kind} attempt succeeded twice`);
    const released = (await this.commit(this, release)) as R;
    this.committed = true;
    return released;
  }
}

@Injectable()
export class AuditedAttempts {
  private readonly logger = new Logger('attestation');

  constructor(
    private readonly db: Database,
    private readonly audit: AttestationAuditRepository,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  /** Runs `work` as one audited attempt and returns what it returns; rethrows what it throws. */
  async run<T>(subject: AttemptSubject, work: (attempt: AttemptInProgress) => Promise<T>): Promise<T> {
    const attempt = new Attempt(subject, this.clock.now(), (a, release) => this.commitVerified(a, release));
    try {
      const result = await work(attempt);
      if (!attempt.committed) throw new Error(`${subject.kind} attempt ended without a verdict`);
      return result;
    } catch (error) {
      if (attempt.committed) throw error; // its verified row stands; a later failure is not the attempt's outcome
      await this.recordFailure(attempt, error);
      throw error;
    }
  }

  private async commitVerified(attempt: Attempt, release: (tx: Executor, attestationId: string) => Promise<unknown>): Promise<unknown> {
    const released = await this.db.transaction(async (tx) => release(tx, await this.audit.insert(attempt.row('verified', null), tx)));
    this.metrics.attestations.inc({ kind: attempt.subject.kind, outcome: 'verified', code: 'OK' });
    return released;
  }

  private async recordFailure(attempt: Attempt, error: unknown): Promise<void> {
    const { kind, minerHotkey, vmName, clientIp, serverId } = attempt.subject;
    const code = failureCode(error);
    const fields = { kind, vmName, minerHotkey, clientIp, serverId, code };
    try {
      await this.audit.insert(attempt.row('failed', code));
    } catch (auditError) {
      // The caller still gets the original error; the missing row must at least be visible here.
      this.logger.error({ ...fields, auditError: (auditError as Error)?.message }, `${kind} attestation: its audit row could not be written`);
    }
    this.metrics.attestations.inc({ kind, outcome: 'failed', code });
    if (error instanceof DomainError) this.logger.warn(fields, `${kind} attestation refused`);
    else this.logger.error(fields, `${kind} attestation failed unexpectedly`);
  }
}
