/**
 * Runtime attestation of a registered server: a server-bound nonce for the server's own
 * address, then a quote whose REPORTDATA carries that nonce and the caller's TLS key, appraised
 * against the runtime measurements (MRTD + RTMR0..3). Every attempt is a server_attestations row.
 */
import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { queryRows } from '../database/sql';
import { DataSource } from 'typeorm';
import { sha256Hex } from '../common/crypto/hashing';
import { NonceService } from '../nonces/nonce.service';
import { MetricsService } from '../ops/metrics.service';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';
import { emptyAppraisalRecord, QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { toHex } from '../attestation/core/quote';
import { AttestationStatusResponse, RuntimeAttestationResponse, RuntimeNonceResponse } from './dto/server.dto';
import { resolveHost } from './host-policy';
import { ServerAttempt, ServerAuditService } from './server-audit.service';
import { ServersService } from './servers.service';

export interface RuntimeCaller {
  minerHotkey: string;
  clientIp: string;
  clientKeyHash: string | undefined;
}

@Injectable()
export class RuntimeAttestationService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly servers: ServersService,
    private readonly nonces: NonceService,
    private readonly appraisal: QuoteAppraisalService,
    private readonly audit: ServerAuditService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
  ) {}

  async nonce(caller: RuntimeCaller, serverId: string): Promise<RuntimeNonceResponse> {
    const server = await this.servers.ownServer(caller.minerHotkey, serverId);
    const addresses = await resolveHost(server.host).catch(() => [] as string[]);
    if (!addresses.includes(caller.clientIp)) {
      throw new DomainError(ErrorCode.CALLER_NOT_SERVER, 'runtime nonces are only issued to the server itself (caller IP is not the server host)');
    }
    const issued = await this.nonces.issue('runtime', caller.clientIp, server.id);
    return { nonce: issued.nonce, expires_at: issued.expiresAt.toISOString() };
  }

  async attest(caller: RuntimeCaller, serverId: string, quoteBase64: string): Promise<RuntimeAttestationResponse> {
    const server = await this.servers.ownServer(caller.minerHotkey, serverId);
    const record = emptyAppraisalRecord();
    let quoteSha256: string | null = null;
    const attempt = (outcome: 'verified' | 'failed', errorCode: string | null): ServerAttempt => ({
      kind: 'runtime',
      createdAt: this.clock.now(),
      serverId: server.id,
      minerHotkey: caller.minerHotkey,
      vmName: server.vm_name,
      clientIp: caller.clientIp,
      quoteSha256,
      outcome,
      errorCode,
      ...record,
    });
    try {
      const raw = decodeQuoteBase64(quoteBase64);
      quoteSha256 = sha256Hex(raw);
      const quote = this.appraisal.parse(raw, record);
      // The nonce travels inside the quote (X-Chutes-Nonce carries the signature timestamp).
      const nonce = quote.body.reportData.subarray(0, 32);
      const nonceVerdict = await this.nonces.consume(toHex(nonce), 'runtime', caller.clientIp, server.id);
      record.verdict.nonce = nonceVerdict;
      if (nonceVerdict !== 'ok') throw new DomainError(ErrorCode.NONCE_INVALID, 'REPORTDATA does not carry a valid runtime nonce for this server and address');
      await this.appraisal.appraise(raw, quote, { kind: 'runtime', nonce, keyHash: caller.clientKeyHash }, record);
      const done = attempt('verified', null);
      const attestationId = await this.audit.record(done);
      this.metrics.attestations.inc({ kind: 'runtime', outcome: 'verified', code: 'OK' });
      return { attestation_id: attestationId, verified_at: done.createdAt.toISOString(), status: 'verified' };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await this.audit.record(attempt('failed', error.code));
      this.metrics.attestations.inc({ kind: 'runtime', outcome: 'failed', code: error.code });
      throw error;
    }
  }

  async status(minerHotkey: string, serverId: string): Promise<AttestationStatusResponse> {
    const server = await this.servers.ownServer(minerHotkey, serverId);
    const rows = await queryRows<{ id: string; created_at: Date | string; outcome: string; error_code: string | null; measurement_version: string | null }>(
      this.dataSource,
      `SELECT id, created_at, outcome, error_code, measurement_version FROM server_attestations
        WHERE server_id = $1 AND kind = 'runtime' ORDER BY created_at DESC, id DESC LIMIT 1`,
      [server.id],
    );
    const last = rows[0];
    return {
      server_id: server.id,
      name: server.name,
      attestation_status: last ? last.outcome : 'never_attested',
      last_attestation: last
        ? { attestation_id: last.id, created_at: new Date(last.created_at).toISOString(), status: last.outcome, error_code: last.error_code, measurement_version: last.measurement_version }
        : null,
    };
  }
}
