/**
 * Builds the HTTP application from a validated config: Fastify (HTTPS with an optional client
 * certificate when TLS files are configured), 64 KiB bodies, trailing slashes ignored, request
 * ids, JSON logs, one exception filter, 422 validation, and the metrics hook.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { AppModule, AppOverrides } from './app.module';
import { AppConfig, ConfigError, trustedProxyList } from './config/app-config';
import { isTrusted } from './common/client/client-identity';
import { connectionTimeouts, limitConnectionsPerIp } from './common/http/connections';
import { shedLoad } from './common/http/load-shedding';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter';
import { createValidationPipe } from './common/http/validation';
import { createLogger, PinoNestLogger } from './common/logging/logger';
import { databaseTargetFor } from './database/data-source';
import { MetricsService } from './ops/metrics.service';
import { registerRawJsonBodyParser } from './auth/raw-body';
import { consumeUnroutedSignatures } from './auth/unrouted-signatures';

export const BODY_LIMIT_BYTES = 64 * 1024;

function readFileOrFail(variable: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${variable} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}: ${file})`);
  }
}

export interface BuiltApp {
  app: NestFastifyApplication;
  logger: Logger;
  /** Every route Fastify registered (method + URL), for the OpenAPI completeness test. */
  routes: { method: string; url: string }[];
}

export async function createApp(config: AppConfig, overrides: AppOverrides = {}): Promise<BuiltApp> {
  const logger = createLogger(config.logLevel);
  const timeouts = connectionTimeouts(config.requestTimeoutSeconds);
  const https = config.tls
    ? {
        ...timeouts.node,
        ...timeouts.tls,
        cert: readFileOrFail('TLS_CERT_FILE', config.tls.certFile),
        key: readFileOrFail('TLS_KEY_FILE', config.tls.keyFile),
        // Ask for a client certificate but do not require one or check its issuer: the VM's is
        // self-signed at boot, and what matters is that its key is bound into the quote.
        requestCert: true,
        rejectUnauthorized: false,
      }
    : null;
  const adapter = new FastifyAdapter({
    https,
    http: timeouts.node,
    ...timeouts.fastify,
    bodyLimit: BODY_LIMIT_BYTES,
    // Path parameters up to 256 characters: server and VM names are DNS subdomains (up to 253).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 256 },
    loggerInstance: logger,
    // Replaced by one line per request in the onResponse hook below (info for refusals only).
    disableRequestLogging: true,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    trustProxy: false,
  } as ConstructorParameters<typeof FastifyAdapter>[0]);

  const routes: { method: string; url: string }[] = [];
  const fastify = adapter.getInstance<FastifyInstance>();
  fastify.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, overrides.database ?? databaseTargetFor(config), overrides.clock, overrides.extraModules),
    adapter,
    // rawBody: hotkey signatures cover the exact request bytes (see the block below).
    { logger: new PinoNestLogger(logger), abortOnError: false, rawBody: true },
  );
  app.useGlobalFilters(new AllExceptionsFilter());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const metrics = app.get(MetricsService);
  const trusted = trustedProxyList(config.trustProxy);
  limitConnectionsPerIp(app.getHttpServer(), {
    max: config.maxConnectionsPerIp,
    exempt: (ip) => isTrusted(ip, trusted),
    onRefused: (ip, first) => {
      metrics.connectionsRefused.inc({ reason: 'per_ip_limit' });
      if (first) logger.warn({ ip, max: config.maxConnectionsPerIp }, 'connections refused: MAX_CONNECTIONS_PER_IP reached');
    },
  });
  // First onRequest hook: past MAX_INFLIGHT a request is refused before anything else runs.
  const inFlight = shedLoad(fastify, {
    max: config.maxInflight,
    onShed: (first) => {
      metrics.requestsShed.inc();
      if (first) logger.warn({ max: config.maxInflight }, 'shedding load: MAX_INFLIGHT requests in flight, answering 503 OVERLOADED');
    },
  });
  metrics.inFlightSource = () => inFlight.count();
  // Callback-style hooks: they run on every request, and an async hook costs a promise each.
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    metrics.httpRequests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(status) });
    // One line per request: at info for refusals and failures, at debug for the rest (two info
    // lines per request were a measurable share of a boot's CPU in a storm). Shed requests have
    // their metric and one line per episode instead.
    const level = status >= 400 && !inFlight.wasShed(request) ? 'info' : 'debug';
    if (logger.isLevelEnabled(level)) request.log[level]({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });

  // --- raw request body (src/auth) ---
  // Keeps the JSON body's bytes as request.rawBody for the hotkey-signature guard; same 64 KiB
  // limit (413), same 400 for invalid JSON; an empty application/json body counts as no body.
  registerRawJsonBodyParser(app, BODY_LIMIT_BYTES);
  // --- end raw request body ---
  // A signature sent to a path no route serves is consumed all the same (src/auth).
  consumeUnroutedSignatures(app);

  await app.init();
  return { app, logger, routes };
}
