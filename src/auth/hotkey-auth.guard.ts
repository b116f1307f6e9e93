/**
 * The Nest guard behind @HotkeyAuth() and @AdminAuth(): authenticates the request for the
 * route's requirement once (the signature is consumed, so a second guard on the same request
 * only authorises the caller it found), and leaves the caller for @CallerHotkey().
 */
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError, ErrorCode } from '../common/errors';
import type { RequestWithRawBody } from './raw-body';
import { AuthRequirement, CallerIdentity, HotkeyAuthService } from './hotkey-auth.service';

export const AUTH_REQUIREMENT = 'bootkey:auth-requirement';

const callers = new WeakMap<object, CallerIdentity>();

/** The verified caller of a request that passed the guard; throws (500) on a route without it. */
export function callerOf(request: object): CallerIdentity {
  const caller = callers.get(request);
  if (!caller) throw new DomainError(ErrorCode.INTERNAL, 'internal error', { reason: 'caller read on a route without hotkey auth' });
  return caller;
}

@Injectable()
export class HotkeyAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: HotkeyAuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Without a declared requirement the stricter one applies (deny by default).
    const requirement = this.reflector.getAllAndOverride<AuthRequirement | undefined>(AUTH_REQUIREMENT, [context.getHandler(), context.getClass()]) ?? 'admin';
    const request = context.switchToHttp().getRequest<RequestWithRawBody>();
    const known = callers.get(request);
    if (known) {
      await this.auth.authorize(known, requirement);
      return true;
    }
    const caller = await this.auth.authenticate(
      { method: request.method, url: request.url, headers: request.headers, rawBody: request.rawBody, body: request.body },
      requirement,
    );
    callers.set(request, caller);
    return true;
  }
}
