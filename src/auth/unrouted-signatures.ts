/**
 * Consumes the signatures of requests no route matched. A signature sent to a wrong or
 * retired path would otherwise stay unused and could be replayed on a real route within its
 * window; recording it here makes it count as used (for v1: bound to its method). Runs as a
 * Fastify hook on the not-found path only, after the body is read; whatever it decides, the
 * answer stays the 404 (a request without a route learns nothing about its signature).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { HotkeyAuthService } from './hotkey-auth.service';
import type { RequestWithRawBody } from './raw-body';
import { HOTKEY_HEADER, NONCE_HEADER, SIGNATURE_HEADER } from './signed-request';

/** Registers the hook. Call before `app.init()` (Nest sets its not-found handler there). */
export function consumeUnroutedSignatures(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const auth = app.get(HotkeyAuthService);
  fastify.addHook('preHandler', async (request: RequestWithRawBody) => {
    if (!request.is404) return;
    const headers = request.headers;
    if (headers[HOTKEY_HEADER] === undefined || headers[SIGNATURE_HEADER] === undefined || headers[NONCE_HEADER] === undefined) return;
    try {
      await auth.authenticate({ method: request.method, url: request.url, headers, rawBody: request.rawBody, body: request.body }, 'unrouted');
    } catch (error) {
      // Refused or not recorded: the 404 is the answer; the reason is for the debug log only.
      request.log.debug({ reason: (error as Error).message }, 'signature on an unrouted request not recorded');
    }
  });
}
