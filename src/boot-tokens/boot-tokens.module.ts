/**
 * Owns boot tokens (table boot_tokens): issued by boot attestation, spent by the LUKS sync. A module
 * of its own below both, so neither feature has to import the other.
 */
import { Module } from '@nestjs/common';
import { BootTokensRepository } from './boot-tokens.repository';
import { BootTokensService } from './boot-tokens.service';

@Module({
  providers: [BootTokensService, BootTokensRepository],
  exports: [BootTokensService],
})
export class BootTokensModule {}
