/**
 * Owns hotkey-signed request authentication: the guard, its service, the per-hotkey rate limit
 * and the `signature_replays` / `signature_uses` tables. Global, so any feature module's
 * controllers can use @HotkeyAuth()/@AdminAuth().
 */
import { Global, Module } from '@nestjs/common';
import { MinersModule } from '../miners/miners.module';
import { HotkeyAuthGuard } from './hotkey-auth.guard';
import { HotkeyAuthService } from './hotkey-auth.service';
import { HotkeyRateLimiter } from './hotkey-rate-limiter';
import { SignatureReplayService } from './signature-replay.service';
import { SignatureReplaysRepository } from './signature-replays.repository';

@Global()
@Module({
  imports: [MinersModule],
  providers: [HotkeyAuthService, SignatureReplayService, SignatureReplaysRepository, HotkeyRateLimiter, HotkeyAuthGuard],
  exports: [HotkeyAuthService, SignatureReplayService, HotkeyAuthGuard],
})
export class AuthModule {}
