/** Owns per-VM volume passphrases (luks_vms, luks_volumes): sync, legacy read, destruction. */
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BootModule } from '../boot/boot.module';
import { LuksController } from './luks.controller';
import { LuksService } from './luks.service';
import { VolumeKeysRepository } from './volume-keys.repository';

@Module({
  imports: [AuditModule, BootModule],
  controllers: [LuksController],
  providers: [LuksService, VolumeKeysRepository],
  exports: [LuksService],
})
export class LuksModule {}
