import type { AppConfig } from '../config/app-config';
import { DomainError, ErrorCode } from '../common/errors';
import { HotkeyRateLimiter } from './hotkey-rate-limiter';

function limiter(limit: number): HotkeyRateLimiter {
  return new HotkeyRateLimiter({ rateLimitSignedPerMin: limit } as AppConfig);
}

function refusal(run: () => void): DomainError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('HotkeyRateLimiter', () => {
  let now = 1_000_000;
  let subject: HotkeyRateLimiter | undefined;
  beforeEach(() => jest.spyOn(Date, 'now').mockImplementation(() => now));
  afterEach(() => {
    subject?.onModuleDestroy();
    jest.restoreAllMocks();
  });

  it('allows the limit per hotkey and minute, then refuses with RATE_LIMITED and the seconds to wait', () => {
    subject = limiter(2);
    subject.hit('alice');
    subject.hit('alice');
    now += 15_000;
    const refused = refusal(() => subject!.hit('alice'));
    expect([refused?.code, refused?.detail]).toEqual([ErrorCode.RATE_LIMITED, { retryAfterSeconds: 45 }]);
    expect(refusal(() => subject!.hit('bob'))).toBeUndefined();
    now += 45_000;
    expect(refusal(() => subject!.hit('alice'))).toBeUndefined();
  });

  it('is off at 0', () => {
    subject = limiter(0);
    for (let i = 0; i < 1000; i++) subject.hit('alice');
  });
});
