/** Owns the `nonces` table: issuing, atomic consumption, purging. */
import { Module } from '@nestjs/common';
import { NonceController } from './nonce.controller';
import { NonceService } from './nonce.service';
import { NoncesRepository } from './nonces.repository';

@Module({
  controllers: [NonceController],
  providers: [NonceService, NoncesRepository],
  exports: [NonceService],
})
export class NonceModule {}
