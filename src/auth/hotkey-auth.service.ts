/**
 * Verifies hotkey-signed requests and decides who may pass: headers → timestamp window →
 * message format allowed on the route → sr25519 signature over the message (v1: the exact
 * body; v2: method, path, audience and body) → per-hotkey rate limit → admin list / miner
 * admission → single use (replay cache, with the v1 reuse rule). Cheapest checks first, and
 * nothing is written for a caller the route would refuse anyway, so a blocked or unknown
 * hotkey cannot fill the replay table. Denials carry only a status and a code on the wire;
 * signatures are never logged.
 */
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';
import { MinersService } from '../miners/miners.service';
import { HotkeyRateLimiter } from './hotkey-rate-limiter';
import { SignatureReplayService } from './signature-replay.service';
import { isWithinWindow, NO_AUDIENCE, parseSignatureHeaders, replayExpiry, SignatureHeaders, signedMessageV2, v1Messages } from './signed-request';

/**
 * What a route demands of its caller: any admitted miner, or an admin. `unrouted` is a request
 * no route matched: its signature is still consumed when it verifies and its signer is
 * admitted as a miner or an admin (the answer is a 404 either way).
 */
export type AuthRequirement = 'hotkey' | 'admin';
export type AuthScope = AuthRequirement | 'unrouted';

/** The verified caller of a hotkey-signed request. */
export interface CallerIdentity {
  /** The signing hotkey in canonical ss58 form (prefix 42). */
  hotkey: string;
  isAdmin: boolean;
}

/** The parts of a request the check needs (a FastifyRequest with `rawBody` fits). */
export interface SignedRequestParts {
  /** The HTTP method as received. */
  method: string;
  /** The request target as received: path and query, percent-encoding untouched. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody?: Uint8Array;
  body?: unknown;
}

/** A Host header that can stand in an origin (name or address, optional port); anything else is ignored. */
const HOST_VALUE = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/;

@Injectable()
export class HotkeyAuthService implements OnModuleInit {
  private readonly logger = new Logger(HotkeyAuthService.name);
  private readonly admins: ReadonlySet<string>;

  constructor(
    private readonly clock: Clock,
    private readonly replays: SignatureReplayService,
    private readonly miners: MinersService,
    private readonly rateLimiter: HotkeyRateLimiter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const admins = new Set<string>();
    // Config refuses to start on an ADMIN_HOTKEYS entry that is not an ss58 address.
    for (const entry of config.adminHotkeys) admins.add(canonicalSs58(entry));
    this.admins = admins;
  }

  async onModuleInit(): Promise<void> {
    await cryptoWaitReady();
    if (!this.config.signatureAudience) {
      this.logger.warn(
        'SIGNATURE_AUDIENCE is not set: v2 signatures are not bound to this broker (set it to its public origin, e.g. https://keys.example.com)',
      );
    }
  }

  isAdmin(hotkey: string): boolean {
    return isSs58Address(hotkey) && this.admins.has(canonicalSs58(hotkey));
  }

  /**
   * Checks the signature of `request`, the caller's right to the route, and consumes the
   * signature. Throws 401 SIGNATURE_MISSING / _INVALID / _EXPIRED / _SCOPE / _REPLAYED,
   * 429 RATE_LIMITED, 403 NOT_ADMIN / MINER_BLOCKED / MINER_NOT_ALLOWED; or returns the caller.
   */
  async authenticate(request: SignedRequestParts, scope: AuthScope): Promise<CallerIdentity> {
    const headers = parseSignatureHeaders(request.headers);
    const now = this.clock.now();
    const window = this.config.signatureWindowSeconds;
    if (!isWithinWindow(headers.nonceSeconds, now, window)) {
      throw new DomainError(ErrorCode.SIGNATURE_EXPIRED, `X-Chutes-Nonce is more than ${window} seconds from the server's time`);
    }
    // The Chutes message names no route, so it must never open an admin one.
    if (headers.version === 1 && scope === 'admin') {
      throw new DomainError(ErrorCode.SIGNATURE_SCOPE, 'admin routes accept only v2 signatures (X-Bootkey-Signature-Version: 2)');
    }
    if (request.rawBody === undefined && request.body !== undefined && request.body !== null) {
      // A body was parsed but its bytes were not kept (a parser without rawBody): nothing to verify against.
      throw new DomainError(ErrorCode.SIGNATURE_INVALID, 'request body cannot be verified');
    }
    const messages = this.candidateMessages(headers, request);
    if (!messages.some((message) => verifySr25519(message, headers.signature, headers.hotkey))) {
      throw new DomainError(ErrorCode.SIGNATURE_INVALID, 'signature does not verify');
    }
    const hotkey = canonicalSs58(headers.hotkey);
    this.rateLimiter.hit(hotkey);
    const caller = { hotkey, isAdmin: this.admins.has(hotkey) };
    await this.authorizeScope(caller, scope);
    const use = await this.replays.recordUse({
      signature: headers.signature,
      version: headers.version,
      hotkey,
      method: request.method,
      pathWithQuery: request.url,
      expiresAt: replayExpiry(headers.nonceSeconds, window),
    });
    if (use === 'scope') throw new DomainError(ErrorCode.SIGNATURE_SCOPE, 'this v1 signature was first used with another HTTP method');
    if (use === 'replayed') throw new DomainError(ErrorCode.SIGNATURE_REPLAYED, 'signature was already used');
    return caller;
  }

  /**
   * Decides whether a verified caller may use a route. Admin routes: the hotkey must be in
   * ADMIN_HOTKEYS (403 NOT_ADMIN), and admins pass whatever the miners table says, so an admin
   * cannot lock themselves out. Miner routes: MINER_POLICY via the miners table
   * (403 MINER_BLOCKED / MINER_NOT_ALLOWED), for admins too.
   */
  async authorize(caller: CallerIdentity, requirement: AuthRequirement): Promise<void> {
    if (requirement === 'admin') {
      if (!caller.isAdmin) throw new DomainError(ErrorCode.NOT_ADMIN, 'hotkey is not an admin');
      return;
    }
    await this.miners.assertAdmitted(caller.hotkey);
  }

  private async authorizeScope(caller: CallerIdentity, scope: AuthScope): Promise<void> {
    if (scope !== 'unrouted') return this.authorize(caller, scope);
    // No route, so no requirement: anyone who could use some route may spend a row.
    if (!caller.isAdmin) await this.miners.assertAdmitted(caller.hotkey);
  }

  /** Every message this request's signature may be over (several only where the contract allows). */
  private candidateMessages(headers: SignatureHeaders, request: SignedRequestParts): string[] {
    if (headers.version === 1) return v1Messages(headers.hotkey, headers.nonce, request.method, request.url, request.rawBody);
    return this.audiences(request).map((audience) =>
      signedMessageV2({ hotkey: headers.hotkey, nonce: headers.nonce, method: request.method, pathWithQuery: request.url, audience, rawBody: request.rawBody }),
    );
  }

  /**
   * The audiences a v2 signature may name: SIGNATURE_AUDIENCE when configured. Unconfigured, the
   * broker knows no origin of its own, so `-` and the origin the request itself names (Host,
   * either scheme) are accepted: what the CLI signs (the origin of its --url) then works, and
   * no binding is lost that `-` alone would have given.
   */
  private audiences(request: SignedRequestParts): string[] {
    if (this.config.signatureAudience) return [this.config.signatureAudience];
    const host = request.headers.host;
    const name = typeof host === 'string' ? host.toLowerCase() : '';
    return HOST_VALUE.test(name) ? [NO_AUDIENCE, `https://${name}`, `http://${name}`] : [NO_AUDIENCE];
  }
}

/** True only for a valid sr25519 signature (not ed25519/ecdsa, which share the address format). */
function verifySr25519(message: string, signature: Uint8Array, hotkey: string): boolean {
  try {
    const result = signatureVerify(message, signature, hotkey);
    return result.isValid && result.crypto === 'sr25519';
  } catch {
    return false;
  }
}
