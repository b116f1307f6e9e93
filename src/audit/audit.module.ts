/**
 * Owns the audit tables — boot_attestations, server_attestations, key_release_events — as their
 * one writer and one reader, and the audited-attempt pipeline boot, registration and runtime
 * attestation run through.
 */
import { Module } from '@nestjs/common';
import { AttestationAuditRepository } from './attestation-audit.repository';
import { AuditedAttempts } from './audited-attempts.service';
import { AuditRetention } from './audit-retention.service';
import { KeyReleaseEventsRepository } from './key-release-events.repository';

@Module({
  providers: [AttestationAuditRepository, KeyReleaseEventsRepository, AuditedAttempts, AuditRetention],
  exports: [AttestationAuditRepository, KeyReleaseEventsRepository, AuditedAttempts, AuditRetention],
})
export class AuditModule {}
