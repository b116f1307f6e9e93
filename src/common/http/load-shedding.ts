/**
 * Load shedding (MAX_INFLIGHT): at most `max` requests in flight in this process; the next one is
 * answered 503 OVERLOADED with Retry-After in an onRequest hook, before its body is read, its
 * guards run or the database is touched. When a whole fleet reboots at once, a broker that takes
 * every request makes each one slower until all of them time out together; one that refuses the
 * excess at once keeps serving what it admitted at full speed, and the initramfs retries the
 * rest with backoff and jitter. Liveness, readiness and metrics are never shed, so an overloaded
 * replica is not mistaken for a dead one and stays observable.
 *
 * Two refinements for boot storms:
 * - New work is refused first. A request that starts a boot (GET /servers/nonce, `entryRoutes`)
 *   is shed once 3/4 of the slots are taken, so the rest stay for boots already under way: a
 *   boot refused at its attestation or sync has spent a nonce and a quote for nothing and starts
 *   over, while a refused nonce costs nothing.
 * - Retry-After follows the overload. Every request refused in the last two seconds is a client
 *   that will come back; sending them all back after 1 s makes a thundering herd that is refused
 *   again. The k-th of them is sent back after the time the broker needs for the requests of k
 *   clients (a refused client starts its boot over: REQUESTS_PER_BOOT requests each) at the rate
 *   it completes requests, rounded up and kept within 1..60 s, so the herd comes back spread
 *   over the time the broker needs to work through it. That rate is the best second of the last
 *   30 and never taken below MAX_INFLIGHT per second: in the first seconds of a storm the broker
 *   completes little while it shakes hands with everyone, and a rate measured then would send
 *   clients away for far longer than needed (and leave it idle). A slot is counted from the
 *   request's arrival (this hook) to its answer, so the count is what the broker holds, not what
 *   it has started working on.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors';
import { errorBody } from './error-body';
import { httpStatusOf } from './http-status-by-code';

/** Route templates that are always answered, whatever the load. */
export const SHED_EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Route templates that start a boot: refused first (see ENTRY_SHARE). */
export const BOOT_ENTRY_ROUTES: ReadonlySet<string> = new Set(['/servers/nonce']);

/** Entry routes are shed once this share of MAX_INFLIGHT is in flight. */
export const ENTRY_SHARE = 3 / 4;

/** Requests of a boot (nonce, attestation, sync): what a refused client will ask for again. */
export const REQUESTS_PER_BOOT = 3;

/** Bounds of Retry-After (seconds). */
export const RETRY_AFTER_MIN_S = 1;
export const RETRY_AFTER_MAX_S = 60;

/** Length of one counting window (ms); the backlog is what was refused in the last two. */
const WINDOW_MS = 1000;

/** Windows over which the best completion rate is remembered. */
const RATE_MEMORY_WINDOWS = 30;

export interface LoadShedding {
  /** Requests in flight at once; 0 = no limit. */
  max: number;
  /** Route templates that start new work, shed from ENTRY_SHARE of `max` (default BOOT_ENTRY_ROUTES). */
  entryRoutes?: ReadonlySet<string>;
  /**
   * Called for every shed request; `first` is true for the first one of an episode (until the
   * in-flight count falls to half the limit), so a storm logs once, not once per request.
   */
  onShed?: (first: boolean) => void;
  /** Milliseconds clock (tests); default performance.now. */
  now?: () => number;
}

export interface InFlight {
  /** Admitted requests not yet answered (or abandoned by their client). */
  count(): number;
  /** Whether this request was answered 503 OVERLOADED by the shedding hook. */
  wasShed(request: FastifyRequest): boolean;
  /** The Retry-After (seconds) a request refused now would get. */
  retryAfterSeconds(): number;
}

/**
 * Requests refused and completed per one-second window: the backlog is the refusals of the
 * current and the previous window, each worth `requestsPerClient` requests to come, the drain
 * rate the best completions of the last 30 windows (the current one included), never below
 * `minPerSecond`.
 */
export class OverloadGauge {
  private windowStart = 0;
  private shedNow = 0;
  private shedBefore = 0;
  private doneNow = 0;
  /** Completions of the previous windows, newest last (at most RATE_MEMORY_WINDOWS). */
  private readonly doneBefore: number[] = [];

  constructor(
    private readonly now: () => number,
    private readonly minPerSecond = 1,
    private readonly requestsPerClient = 1,
  ) {
    this.windowStart = now();
  }

  shed(): void {
    this.roll();
    this.shedNow++;
  }

  completed(): void {
    this.roll();
    this.doneNow++;
  }

  retryAfterSeconds(): number {
    this.roll();
    const backlog = this.shedNow + this.shedBefore;
    const perSecond = Math.max(1, this.minPerSecond, this.doneNow, ...this.doneBefore);
    return Math.min(RETRY_AFTER_MAX_S, Math.max(RETRY_AFTER_MIN_S, Math.ceil((backlog * this.requestsPerClient) / perSecond)));
  }

  private roll(): void {
    const elapsed = this.now() - this.windowStart;
    if (elapsed < WINDOW_MS) return;
    const windows = Math.floor(elapsed / WINDOW_MS);
    this.shedBefore = windows >= 2 ? 0 : this.shedNow; // a whole window passed with nothing counted
    this.doneBefore.push(this.doneNow);
    for (let i = 1; i < Math.min(windows, RATE_MEMORY_WINDOWS); i++) this.doneBefore.push(0);
    while (this.doneBefore.length > RATE_MEMORY_WINDOWS) this.doneBefore.shift();
    this.shedNow = 0;
    this.doneNow = 0;
    this.windowStart += windows * WINDOW_MS;
  }
}

export function shedLoad(fastify: FastifyInstance, options: LoadShedding): InFlight {
  let inFlight = 0;
  const shed = new WeakSet<FastifyRequest>();
  const gauge = new OverloadGauge(options.now ?? (() => performance.now()), options.max, REQUESTS_PER_BOOT);
  const state: InFlight = { count: () => inFlight, wasShed: (request) => shed.has(request), retryAfterSeconds: () => gauge.retryAfterSeconds() };
  if (options.max <= 0) return state;
  const entryRoutes = options.entryRoutes ?? BOOT_ENTRY_ROUTES;
  // At least one slot for new boots, and entry requests never get more than the others.
  const entryMax = Math.max(1, Math.min(options.max, Math.ceil(options.max * ENTRY_SHARE)));
  let shedding = false;
  const status = httpStatusOf(ErrorCode.OVERLOADED);
  const bodies = new Map<number, string>();
  const bodyFor = (seconds: number): string => {
    let body = bodies.get(seconds);
    if (body === undefined) {
      body = JSON.stringify(errorBody(status, ErrorCode.OVERLOADED, `the broker is at capacity; retry in ${seconds} s`));
      bodies.set(seconds, body);
    }
    return body;
  };
  // Callback style, not async: this runs on every request and must cost next to nothing.
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && SHED_EXEMPT_ROUTES.has(route)) {
      done();
      return;
    }
    const limit = route !== undefined && entryRoutes.has(route) ? entryMax : options.max;
    if (inFlight >= limit) {
      const first = !shedding;
      shedding = true;
      gauge.shed();
      options.onShed?.(first);
      shed.add(request);
      const seconds = gauge.retryAfterSeconds();
      void reply.code(status).header('retry-after', String(seconds)).header('content-type', 'application/json; charset=utf-8').send(bodyFor(seconds));
      return;
    }
    inFlight++;
    // 'close' fires once the answer is sent or the connection is gone, whichever comes first,
    // so a client that hangs up mid-request frees its slot too.
    reply.raw.once('close', () => {
      inFlight--;
      gauge.completed();
      if (shedding && inFlight <= options.max / 2) shedding = false;
    });
    done();
  });
  return state;
}
