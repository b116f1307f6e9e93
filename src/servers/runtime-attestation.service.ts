/**
 * Runtime attestation of a registered server: a server-bound nonce for the server's own
 * address, then a quote whose REPORTDATA carries that nonce and the caller's TLS key, appraised
 * against the runtime measurements (MRTD + RTMR0..3). Every attempt is a server_attestations row.
 */
import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '../common/errors';
import { sha256Hex } from '../common/crypto/hashing';
import { NonceService } from '../nonces/nonce.service';
import { decodeQuoteBase64 } from '../attestation/dto/quote.request';
import { QuoteAppraisalService } from '../attestation/quote-appraisal.service';
import { toHex } from '../attestation/core/quote';
import { AttestationAuditRepository } from '../audit/attestation-audit.repository';
import { AuditedAttempts } from '../audit/audited-attempts.service';
import { AttestationStatusResponse, RuntimeAttestationResponse, RuntimeNonceResponse } from './dto/server.dto';
import { resolveHost } from './host-policy';
import { ServersService } from './servers.service';

export interface RuntimeCaller {
  minerHotkey: string;
  clientIp: string;
  clientKeyHash: string | undefined;
}

@Injectable()
export class RuntimeAttestationService {
  constructor(
    private readonly servers: ServersService,
    private readonly nonces: NonceService,
    private readonly appraisal: QuoteAppraisalService,
    private readonly attempts: AuditedAttempts,
    private readonly audit: AttestationAuditRepository,
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
    const subject = { kind: 'runtime' as const, serverId: server.id, minerHotkey: caller.minerHotkey, vmName: server.vmName, clientIp: caller.clientIp };
    return this.attempts.run(subject, async (attempt) => {
      const { record } = attempt;
      const raw = decodeQuoteBase64(quoteBase64);
      attempt.quoteSha256 = sha256Hex(raw);
      const quote = this.appraisal.parse(raw, record);
      // The nonce travels inside the quote (X-Chutes-Nonce carries the signature timestamp).
      const nonce = quote.body.reportData.subarray(0, 32);
      const nonceVerdict = await this.nonces.consume(toHex(nonce), 'runtime', caller.clientIp, server.id);
      record.verdict.nonce = nonceVerdict;
      if (nonceVerdict !== 'ok') throw new DomainError(ErrorCode.NONCE_INVALID, 'REPORTDATA does not carry a valid runtime nonce for this server and address');
      // The request's hotkey signature (the guard) proves the miner's hotkey, for rc sets.
      await this.appraisal.appraise(raw, quote, { kind: 'runtime', nonce, keyHash: caller.clientKeyHash, provenHotkey: caller.minerHotkey }, record);
      const attestationId = await attempt.succeed((_tx, id) => Promise.resolve(id));
      return { attestation_id: attestationId, verified_at: attempt.createdAt.toISOString(), status: 'verified' };
    });
  }

  async status(minerHotkey: string, serverId: string): Promise<AttestationStatusResponse> {
    const server = await this.servers.ownServer(minerHotkey, serverId);
    const last = await this.audit.latestStatusForServer(server.id);
    return {
      server_id: server.id,
      name: server.name,
      attestation_status: last ? last.outcome : 'never_attested',
      last_attestation: last
        ? {
            attestation_id: last.id,
            created_at: last.createdAt.toISOString(),
            status: last.outcome,
            error_code: last.errorCode,
            measurement_version: last.measurementVersion,
          }
        : null,
    };
  }
}
