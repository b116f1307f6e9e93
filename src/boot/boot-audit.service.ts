/** The boot_attestations audit trail: one row per boot attempt, passed or failed, with why. */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AttestationAttempt, insertAttestationRow } from '../attestation/attestation-audit';

export type BootAttempt = AttestationAttempt & { clientIp: string };

@Injectable()
export class BootAuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Writes the row (in `manager`'s transaction when given); returns its id. */
  record(attempt: BootAttempt, manager: EntityManager = this.dataSource.manager): Promise<string> {
    return insertAttestationRow(manager, 'boot_attestations', attempt);
  }
}
