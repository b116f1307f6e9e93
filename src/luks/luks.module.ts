/**
 * Owns per-VM volume key generations (luks_vms, luks_volumes) and sync receipts: the boot-token
 * sync, the legacy read, miner key management (list, restore, shred), and the retention purge.
 */
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BootTokensModule } from '../boot-tokens/boot-tokens.module';
import { KeyRetentionService } from './key-retention.service';
import { LuksController } from './luks.controller';
import { LuksService } from './luks.service';
import { SyncReceiptsRepository } from './sync-receipts.repository';
import { VmKeysController } from './vm-keys.controller';
import { VmKeysService } from './vm-keys.service';
import { VolumeKeysRepository } from './volume-keys.repository';

@Module({
  imports: [AuditModule, BootTokensModule],
  controllers: [LuksController, VmKeysController],
  providers: [LuksService, VmKeysService, KeyRetentionService, VolumeKeysRepository, SyncReceiptsRepository],
  exports: [LuksService, VolumeKeysRepository],
})
export class LuksModule {}
