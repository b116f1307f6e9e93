/** Owns boot attestation, boot tokens, and the boot and key-release audit rows. */
import { Module } from '@nestjs/common';
import { AttestationModule } from '../attestation/attestation.module';
import { MeasurementsModule } from '../measurements/measurements.module';
import { NonceModule } from '../nonces/nonce.module';
import { BootAttestationService } from './boot-attestation.service';
import { BootAuditService } from './boot-audit.service';
import { BootController } from './boot.controller';
import { BootTokensService } from './boot-tokens.service';
import { KeyReleaseAuditService } from './key-release-audit.service';

@Module({
  imports: [AttestationModule, MeasurementsModule, NonceModule],
  controllers: [BootController],
  providers: [BootAttestationService, BootAuditService, BootTokensService, KeyReleaseAuditService],
  exports: [BootTokensService, KeyReleaseAuditService, BootAuditService],
})
export class BootModule {}
