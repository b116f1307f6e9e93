/** Owns per-VM volume passphrases (luks_vms, luks_volumes): sync, legacy read, destruction. */
import { Module } from '@nestjs/common';
import { BootModule } from '../boot/boot.module';
import { LuksController } from './luks.controller';
import { LuksService } from './luks.service';

@Module({
  imports: [BootModule],
  controllers: [LuksController],
  providers: [LuksService],
  exports: [LuksService],
})
export class LuksModule {}
