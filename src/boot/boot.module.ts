/** Owns boot attestation (it issues boot tokens through BootTokensModule); its audit rows are written through AuditModule; it reads the server registry to pin boot identities. */
import { Module } from '@nestjs/common';
import { AttestationModule } from '../attestation/attestation.module';
import { AuditModule } from '../audit/audit.module';
import { BootTokensModule } from '../boot-tokens/boot-tokens.module';
import { MeasurementsModule } from '../measurements/measurements.module';
import { KeyRotationModule } from '../key-rotation/key-rotation.module';
import { NonceModule } from '../nonces/nonce.module';
import { VmAuthModule } from '../vm-auth/vm-auth.module';
import { ServerRegistryModule } from '../servers/server-registry.module';
import { BootAttestationService } from './boot-attestation.service';
import { BootController } from './boot.controller';

@Module({
  imports: [AttestationModule, AuditModule, BootTokensModule, KeyRotationModule, MeasurementsModule, NonceModule, ServerRegistryModule, VmAuthModule],
  controllers: [BootController],
  providers: [BootAttestationService],
})
export class BootModule {}
