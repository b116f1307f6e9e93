/** server_attestations: one row per registration or runtime attestation attempt, with why. */
import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AttestationAttempt, insertAttestationRow } from '../attestation/attestation-audit';

export interface ServerAttempt extends AttestationAttempt {
  kind: 'registration' | 'runtime';
  serverId: string | null;
  minerHotkey: string;
}

@Injectable()
export class ServerAuditService {
  constructor(private readonly dataSource: DataSource) {}

  record(attempt: ServerAttempt, manager: EntityManager = this.dataSource.manager): Promise<string> {
    const { kind, serverId, ...row } = attempt;
    return insertAttestationRow(manager, 'server_attestations', row, { kind, server_id: serverId });
  }
}
