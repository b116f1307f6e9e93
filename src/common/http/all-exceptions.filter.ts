/**
 * The one place errors become HTTP. DomainErrors carry their code and a wire-safe message;
 * Nest's own HttpExceptions are translated — unknown route, wrong method, and the 4xx errors
 * Fastify raises before a handler runs (body too large, bad JSON), which Nest's Fastify adapter
 * turns into HttpExceptions; anything else is a bare 500 whose detail goes only to the log.
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, ErrorCode } from '../errors';
import { isDatabaseUnavailable } from '../errors/database-unavailable';
import { errorBody } from './error-body';
import { httpStatusOf } from './http-status-by-code';

const CODE_BY_HTTP_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.VALIDATION_FAILED,
  404: ErrorCode.NOT_FOUND,
  413: ErrorCode.BODY_TOO_LARGE,
  422: ErrorCode.VALIDATION_FAILED,
  429: ErrorCode.RATE_LIMITED,
};

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const { status, body, headers } = toHttpError(exception);
    if (status >= 500) {
      this.logger.error({ reqId: request?.id, err: describe(exception) }, 'request failed');
    }
    for (const [name, value] of Object.entries(headers)) void reply.header(name, value);
    void reply.status(status).send(body);
  }
}

export function toHttpError(exception: unknown): {
  status: number;
  body: ReturnType<typeof errorBody>;
  headers: Record<string, string>;
} {
  if (exception instanceof DomainError) {
    const headers: Record<string, string> = {};
    const retryAfter = exception.detail?.retryAfterSeconds;
    if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
    const status = httpStatusOf(exception.code);
    return { status, body: errorBody(status, exception.code, exception.message), headers };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const code = CODE_BY_HTTP_STATUS[status] ?? (status >= 500 ? ErrorCode.INTERNAL : 'HTTP_ERROR');
    const message = status === 404 ? 'route not found' : status === 405 ? 'method not allowed' : exception.message;
    return { status, body: errorBody(status, code, status >= 500 ? 'internal error' : message), headers: {} };
  }
  if (isDatabaseUnavailable(exception)) {
    return { status: 503, body: errorBody(503, ErrorCode.DATABASE_UNAVAILABLE, 'database unavailable, retry later'), headers: { 'retry-after': '5' } };
  }
  return { status: 500, body: errorBody(500, ErrorCode.INTERNAL, 'internal error'), headers: {} };
}

function describe(exception: unknown): Record<string, unknown> {
  if (exception instanceof Error) return { name: exception.name, message: exception.message, stack: exception.stack };
  return { value: String(exception) };
}
