/**
 * Structured JSON logs (pino). Fastify logs each request with its id; Nest's own logger is
 * bridged to the same pino instance. Headers that carry credentials are redacted wherever a
 * log line might include them.
 */
import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers["x-boot-token"]',
  'req.headers["x-chutes-signature"]',
  'req.headers["x-client-cert"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers["x-boot-token"]',
  'headers["x-chutes-signature"]',
];

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'bootkey' }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

/** Nest LoggerService on top of pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    this.write('info', message, context);
  }

  error(message: unknown, ...rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    this.write('error', message, context);
  }

  warn(message: unknown, context?: string): void {
    this.write('warn', message, context);
  }

  debug(message: unknown, context?: string): void {
    this.write('debug', message, context);
  }

  verbose(message: unknown, context?: string): void {
    this.write('trace', message, context);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, context?: string): void {
    if (typeof message === 'object' && message !== null) this.logger[level]({ context, ...message });
    else this.logger[level]({ context }, String(message));
  }
}
