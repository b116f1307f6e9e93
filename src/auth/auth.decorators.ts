/**
 * Route decorators for hotkey-signed endpoints. Pair them with @ApiDoc({ auth: 'hotkey' | 'admin' })
 * so the OpenAPI document says the same thing the guard enforces.
 */
import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ErrorCode } from '../common/errors';
import { AUTH_REQUIREMENT, callerOf, HotkeyAuthGuard } from './hotkey-auth.guard';
import type { AuthRequirement } from './hotkey-auth.service';

const SIGNATURE_ERRORS = [
  ErrorCode.SIGNATURE_MISSING,
  ErrorCode.SIGNATURE_INVALID,
  ErrorCode.SIGNATURE_EXPIRED,
  ErrorCode.SIGNATURE_REPLAYED,
  ErrorCode.SIGNATURE_SCOPE,
  ErrorCode.RATE_LIMITED,
];

/** What @HotkeyAuth() can answer with, for @ApiDoc({ errors: [...HOTKEY_AUTH_ERRORS, ...] }). */
export const HOTKEY_AUTH_ERRORS: readonly ErrorCode[] = [...SIGNATURE_ERRORS, ErrorCode.MINER_BLOCKED, ErrorCode.MINER_NOT_ALLOWED];

/** What @AdminAuth() can answer with. */
export const ADMIN_AUTH_ERRORS: readonly ErrorCode[] = [...SIGNATURE_ERRORS, ErrorCode.NOT_ADMIN];

function requires(requirement: AuthRequirement): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(AUTH_REQUIREMENT, requirement), UseGuards(HotkeyAuthGuard));
}

/**
 * A valid, fresh hotkey signature from an admitted miner (MINER_POLICY, miners table): v2 used
 * once, or v1 (the Chutes message) within its reuse rule.
 */
export const HotkeyAuth = (): MethodDecorator & ClassDecorator => requires('hotkey');

/** A valid, fresh, unused v2 hotkey signature from a hotkey in ADMIN_HOTKEYS. */
export const AdminAuth = (): MethodDecorator & ClassDecorator => requires('admin');

/** The verified signing hotkey (canonical ss58) of a route guarded by @HotkeyAuth/@AdminAuth. */
export const CallerHotkey = createParamDecorator((_data: unknown, context: ExecutionContext): string => callerOf(context.switchToHttp().getRequest()).hotkey);
