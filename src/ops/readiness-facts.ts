/**
 * Facts that other modules establish at start and /readyz reports (so an operator sees, e.g.,
 * that this instance does not trust Intel's root). Set once during start-up, read per request.
 */
import { Injectable } from '@nestjs/common';
import type { TrustAnchorReadiness } from './dto/readiness.response';

@Injectable()
export class ReadinessFacts {
  trustAnchor: TrustAnchorReadiness = { overridden: false };
}
