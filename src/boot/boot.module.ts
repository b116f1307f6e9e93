/** Owns boot attestation and boot tokens (boot_tokens); its audit rows are written through AuditModule; it reads the server registry to pin boot identities. */
import { Module } from '@nestjs/common';
import { AttestationModule } from '../attestation/attestation.module';
import { AuditModule } from '../audit/audit.module';
import { MeasurementsModule } from '../measurements/measurements.module';
import { NonceModule } from '../nonces/nonce.module';
import { ServerRegistryModule } from '../servers/server-registry.module';
import { BootAttestationService } from './boot-attestation.service';
import { BootController } from './boot.controller';
import { BootTokensRepository } from './boot-tokens.repository';
import { BootTokensService } from './boot-tokens.service';

@Module({
  imports: [AttestationModule, AuditModule, MeasurementsModule, NonceModule, ServerRegistryModule],
  controllers: [BootController],
  providers: [BootAttestationService, BootTokensService, BootTokensRepository],
  exports: [BootTokensService],
})
export class BootModule {}
