/** Owns the server registry (servers, server_nodes), registration and runtime attestation. */
import { Module } from '@nestjs/common';
import { AttestationModule } from '../attestation/attestation.module';
import { AuditModule } from '../audit/audit.module';
import { LuksModule } from '../luks/luks.module';
import { NonceModule } from '../nonces/nonce.module';
import { GpuEvidenceVerifier } from './gpu-evidence.verifier';
import { RuntimeAttestationService } from './runtime-attestation.service';
import { ServerRegistryModule } from './server-registry.module';
import { ServersController } from './servers.controller';
import { ServersService } from './servers.service';

@Module({
  imports: [AttestationModule, AuditModule, LuksModule, NonceModule, ServerRegistryModule],
  controllers: [ServersController],
  providers: [ServersService, RuntimeAttestationService, GpuEvidenceVerifier],
  exports: [ServersService],
})
export class ServersModule {}
