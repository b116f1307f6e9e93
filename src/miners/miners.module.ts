/** Owns the `miners` table (admission: allowed / blocked). Global: the hotkey guard and boot attestation both ask it. */
import { Global, Module } from '@nestjs/common';
import { MinersRepository } from './miners.repository';
import { MinersService } from './miners.service';

@Global()
@Module({
  providers: [MinersService, MinersRepository],
  exports: [MinersService],
})
export class MinersModule {}
