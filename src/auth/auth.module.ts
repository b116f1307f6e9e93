/**
 * Owns hotkey-signed request authentication: the guard, its service and the `signature_replays`
 * table. Global, so any feature module's controllers can use @HotkeyAuth()/@AdminAuth().
 */
import { Global, Module } from '@nestjs/common';
import { MinersModule } from '../miners/miners.module';
import { HotkeyAuthGuard } from './hotkey-auth.guard';
import { HotkeyAuthService } from './hotkey-auth.service';
import { SignatureReplayService } from './signature-replay.service';

@Global()
@Module({
  imports: [MinersModule],
  providers: [HotkeyAuthService, SignatureReplayService, HotkeyAuthGuard],
  exports: [HotkeyAuthService, SignatureReplayService, HotkeyAuthGuard],
})
export class AuthModule {}
