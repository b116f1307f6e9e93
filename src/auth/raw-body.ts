/**
 * Keeps the exact request bytes for signature checks. Fastify parses JSON before guards run,
 * and a re-serialised body would not hash to what the client signed, so the JSON parser is
 * replaced by one that stores the raw Buffer as `request.rawBody` and then parses it with
 * Fastify's own JSON parser (same errors, same prototype-poisoning protection). An empty body
 * sent as application/json is treated as no body (clients that always send the header on
 * GET/DELETE are common); body-carrying routes then fail their DTO validation with 422.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { refuseTooDeepJson } from '../common/http/json-depth';

export type RequestWithRawBody = FastifyRequest & { rawBody?: Buffer };

/**
 * Registers the raw-keeping JSON parser. Call before `app.init()`, with the application created
 * with `{ rawBody: true }` (so Nest keeps `rawBody` for the other parsers it registers too).
 */
export function registerRawJsonBodyParser(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const { onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const parseJson = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.useBodyParser('application/json', { bodyLimit }, (request, body, done) => {
    (request as RequestWithRawBody).rawBody = body;
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    if (refuseTooDeepJson(body, done)) return;
    void parseJson(request as FastifyRequest, body as unknown as string, done);
  });
}
