/**
 * Facts that other modules establish at start and /readyz reports (so an operator sees, e.g.,
 * that this instance does not trust Intel's root). Set during start-up (the measurements file
 * also at each re-read), read per request.
 */
import { Injectable } from '@nestjs/common';
import type { MeasurementsFileReadiness, TrustAnchorReadiness } from './dto/readiness.response';

@Injectable()
export class ReadinessFacts {
  trustAnchor: TrustAnchorReadiness = { overridden: false };
  /** The last read of MEASUREMENTS_FILE, when one is configured (updated at each re-read). */
  measurementsFile?: MeasurementsFileReadiness;
}
