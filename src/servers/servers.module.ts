/** Owns the server registry (servers, server_nodes), registration (signed per VM: vm-auth) and runtime attestation. */
import { Module } from '@nestjs/common';
import { AttestationModule } from '../attestation/attestation.module';
import { AuditModule } from '../audit/audit.module';
import { LuksModule } from '../luks/luks.module';
import { NonceModule } from '../nonces/nonce.module';
import { VmAuthModule } from '../vm-auth/vm-auth.module';
import { GpuEvidenceVerifier } from './gpu-evidence.verifier';
import { MinerServersController } from './miner-servers.controller';
import { RuntimeAttestationService } from './runtime-attestation.service';
import { ServerRegistryModule } from './server-registry.module';
import { ServersController } from './servers.controller';
import { ServersService } from './servers.service';
import { ValidatorKey } from './validator-key';

@Module({
  imports: [AttestationModule, AuditModule, LuksModule, NonceModule, ServerRegistryModule, VmAuthModule],
  controllers: [ServersController, MinerServersController],
  providers: [ServersService, RuntimeAttestationService, GpuEvidenceVerifier, ValidatorKey],
  exports: [ServersService],
})
export class ServersModule {}
