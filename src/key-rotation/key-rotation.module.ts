/**
 * Gen-C key rotation: pending generations issued as `next` (the root key at boot, the volumes at
 * /provision), their confirms (promote, discard, answered again when repeated), the k3s key, and
 * the choice of the key a VM is handed (with the lost-answer fallback).
 */
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { LuksModule } from '../luks/luks.module';
import { ConfirmNoncesRepository } from './confirm-nonces.repository';
import { KeyRotationService } from './key-rotation.service';

@Module({
  imports: [AuditModule, LuksModule],
  providers: [KeyRotationService, ConfirmNoncesRepository],
  exports: [KeyRotationService],
})
export class KeyRotationModule {}
