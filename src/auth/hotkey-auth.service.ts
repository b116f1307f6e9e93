/**
 * Verifies hotkey-signed requests and decides who may pass: headers → timestamp window →
 * sr25519 signature over the exact body → single use (replay cache) → admin list → miner
 * admission. Cheapest checks first; the signature is consumed once it verifies, whatever the
 * later checks decide. Denials carry only a status and a code on the wire; signatures are
 * never logged.
 */
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Clock } from '../common/clock/clock';
import { DomainError, ErrorCode } from '../common/errors';
import { canonicalSs58, isSs58Address } from '../common/validation/ss58';
import { MinersService } from '../miners/miners.service';
import { isWithinWindow, parseSignatureHeaders, replayExpiry, signedMessage } from './signed-request';
import { SignatureReplayService } from './signature-replay.service';

/** What a route demands of its caller: any admitted miner, or an admin. */
export type AuthRequirement = 'hotkey' | 'admin';

/** The verified caller of a hotkey-signed request. */
export interface CallerIdentity {
  /** The signing hotkey in canonical ss58 form (prefix 42). */
  hotkey: string;
  isAdmin: boolean;
}

/** The parts of a request the check needs (a FastifyRequest with `rawBody` fits). */
export interface SignedRequestParts {
  headers: Record<string, string | string[] | undefined>;
  rawBody?: Uint8Array;
  body?: unknown;
}

@Injectable()
export class HotkeyAuthService implements OnModuleInit {
  private readonly logger = new Logger(HotkeyAuthService.name);
  private readonly admins: ReadonlySet<string>;

  constructor(
    private readonly clock: Clock,
    private readonly replays: SignatureReplayService,
    private readonly miners: MinersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const admins = new Set<string>();
    for (const entry of config.adminHotkeys) {
      if (isSs58Address(entry)) admins.add(canonicalSs58(entry));
      // Addresses are public, so naming the bad entry is fine.
      else this.logger.warn(`ADMIN_HOTKEYS entry "${entry}" is not an ss58 address; ignored`);
    }
    this.admins = admins;
  }

  async onModuleInit(): Promise<void> {
    await cryptoWaitReady();
  }

  isAdmin(hotkey: string): boolean {
    return isSs58Address(hotkey) && this.admins.has(canonicalSs58(hotkey));
  }

  /**
   * Checks the signature of `request` and consumes it. Throws a 401 DomainError
   * (SIGNATURE_MISSING / _INVALID / _EXPIRED / _REPLAYED) or returns the verified caller.
   */
  async authenticate(request: SignedRequestParts): Promise<CallerIdentity> {
    const headers = parseSignatureHeaders(request.headers);
    const now = this.clock.now();
    const window = this.config.signatureWindowSeconds;
    if (!isWithinWindow(headers.nonceSeconds, now, window)) {
      throw new DomainError(ErrorCode.SIGNATURE_EXPIRED, `X-Chutes-Nonce is more than ${window} seconds from the server's time`);
    }
    if (request.rawBody === undefined && request.body !== undefined && request.body !== null) {
      // A body was parsed but its bytes were not kept (a parser without rawBody): nothing to verify against.
      throw new DomainError(ErrorCode.SIGNATURE_INVALID, 'request body cannot be verified');
    }
    const message = signedMessage(headers.hotkey, headers.nonce, request.rawBody);
    if (!verifySr25519(message, headers.signature, headers.hotkey)) {
      throw new DomainError(ErrorCode.SIGNATURE_INVALID, 'signature does not verify');
    }
    const hotkey = canonicalSs58(headers.hotkey);
    const fresh = await this.replays.recordOnce(headers.signature, hotkey, replayExpiry(headers.nonceSeconds, window));
    if (!fresh) throw new DomainError(ErrorCode.SIGNATURE_REPLAYED, 'signature was already used');
    return { hotkey, isAdmin: this.admins.has(hotkey) };
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
