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

/**
 * Nest LoggerService on top of pino. Nest's Logger calls `level(message, ...params, context)`;
 * an object message becomes structured fields and a string param before the context its text.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const text = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    if (typeof message === 'object' && message !== null && !(message instanceof Error)) this.logger[level]({ context, ...message }, text);
    else if (message instanceof Error) this.logger[level]({ context, err: { name: message.name, message: message.message } }, text ?? message.message);
    else this.logger[level]({ context }, String(message));
  }
}
