/** Gen-C steps after the boot: /provision, /provision/confirm and the 1.3.x /luks/attest, /luks/confirm. */
import { Module } from '@nestjs/common';
import { AttestationModule } from '../attestation/attestation.module';
import { AuditModule } from '../audit/audit.module';
import { KeyRotationModule } from '../key-rotation/key-rotation.module';
import { NonceModule } from '../nonces/nonce.module';
import { VmAuthModule } from '../vm-auth/vm-auth.module';
import { ProvisionController } from './provision.controller';
import { ProvisionService } from './provision.service';

@Module({
  imports: [AttestationModule, AuditModule, KeyRotationModule, NonceModule, VmAuthModule],
  controllers: [ProvisionController],
  providers: [ProvisionService],
})
export class ProvisionModule {}
