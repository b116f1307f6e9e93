/** Per-VM boot state of gen-C VMs: the sealed per-boot vm_auth key and the VM root CA. */
import { Module } from '@nestjs/common';
import { VmAuthService } from './vm-auth.service';
import { VmBootStatesRepository } from './vm-boot-states.repository';

@Module({
  providers: [VmAuthService, VmBootStatesRepository],
  exports: [VmAuthService],
})
export class VmAuthModule {}
