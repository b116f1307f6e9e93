/**
 * Load shedding (MAX_INFLIGHT): at most `max` requests in flight in this process; the next one is
 * answered 503 OVERLOADED with Retry-After in an onRequest hook, before its body is read, its
 * guards run or the database is touched. When a whole fleet reboots at once, a broker that takes
 * every request makes each one slower until all of them time out together; one that refuses the
 * excess at once keeps serving what it admitted at full speed, and the initramfs retries the
 * rest with backoff and jitter. Liveness, readiness and metrics are never shed, so an overloaded
 * replica is not mistaken for a dead one and stays observable.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '../errors';
import { errorBody } from './error-body';
import { httpStatusOf } from './http-status-by-code';

/** Route templates that are always answered, whatever the load. */
export const SHED_EXEMPT_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Retry-After of a shed request. Short: admitted requests finish in tens of milliseconds, so a
 * slot is free again almost at once; the client's own jitter spreads the retries.
 */
export const OVERLOADED_RETRY_AFTER_S = 1;

export interface LoadShedding {
  /** Requests in flight at once; 0 = no limit. */
  max: number;
  /**
   * Called for every shed request; `first` is true for the first one of an episode (until the
   * in-flight count falls to half the limit), so a storm logs once, not once per request.
   */
  onShed?: (first: boolean) => void;
}

export interface InFlight {
  /** Admitted requests not yet answered (or abandoned by their client). */
  count(): number;
  /** Whether this request was answered 503 OVERLOADED by the shedding hook. */
  wasShed(request: FastifyRequest): boolean;
}

export function shedLoad(fastify: FastifyInstance, options: LoadShedding): InFlight {
  let inFlight = 0;
  const shed = new WeakSet<FastifyRequest>();
  const state: InFlight = { count: () => inFlight, wasShed: (request) => shed.has(request) };
  if (options.max <= 0) return state;
  let shedding = false;
  const body = JSON.stringify(
    errorBody(httpStatusOf(ErrorCode.OVERLOADED), ErrorCode.OVERLOADED, `the broker is at capacity; retry in ${OVERLOADED_RETRY_AFTER_S} s`),
  );
  // Callback style, not async: this runs on every request and must cost next to nothing.
  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && SHED_EXEMPT_ROUTES.has(route)) {
      done();
      return;
    }
    if (inFlight >= options.max) {
      const first = !shedding;
      shedding = true;
      options.onShed?.(first);
      shed.add(request);
      void reply
        .code(httpStatusOf(ErrorCode.OVERLOADED))
        .header('retry-after', String(OVERLOADED_RETRY_AFTER_S))
        .header('content-type', 'application/json; charset=utf-8')
        .send(body);
      return;
    }
    inFlight++;
    // 'close' fires once the answer is sent or the connection is gone, whichever comes first,
    // so a client that hangs up mid-request frees its slot too.
    reply.raw.once('close', () => {
      inFlight--;
      if (shedding && inFlight <= options.max / 2) shedding = false;
    });
    done();
  });
  return state;
}
