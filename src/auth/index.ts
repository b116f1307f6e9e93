/** The public surface of hotkey authentication, for controllers and the app factory. */
export { AuthModule } from './auth.module';
export { ADMIN_AUTH_ERRORS, AdminAuth, CallerHotkey, HOTKEY_AUTH_ERRORS, HotkeyAuth } from './auth.decorators';
export { callerOf, HotkeyAuthGuard } from './hotkey-auth.guard';
export { HotkeyAuthService } from './hotkey-auth.service';
export type { AuthRequirement, AuthScope, CallerIdentity, SignedRequestParts } from './hotkey-auth.service';
export { registerRawJsonBodyParser } from './raw-body';
export type { RequestWithRawBody } from './raw-body';
export { SignatureReplayService } from './signature-replay.service';
export { consumeUnroutedSignatures } from './unrouted-signatures';
export * from './signed-request';
