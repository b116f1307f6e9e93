import { NotFoundException } from '@nestjs/common';
import { DomainError, ErrorCode } from '../errors';
import { toHttpError } from './all-exceptions.filter';

describe('toHttpError', () => {
  it('maps a DomainError through the code table, without its detail', () => {
    const result = toHttpError(new DomainError(ErrorCode.NONCE_INVALID, 'nonce is invalid or expired', { verdict: 'wrong_client' }));
    expect(result.status).toBe(401);
    expect(result.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'nonce is invalid or expired', code: 'NONCE_INVALID' });
  });

  it('sets Retry-After from a rate-limit error', () => {
    const result = toHttpError(new DomainError(ErrorCode.RATE_LIMITED, 'too many requests', { retryAfterSeconds: 7 }));
    expect(result.status).toBe(429);
    expect(result.headers['retry-after']).toBe('7');
  });

  it('turns an unknown error into a bare 500 that leaks nothing', () => {
    const result = toHttpError(new Error('secret passphrase 1234 at /srv/x.ts:10'));
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error', code: 'INTERNAL' });
  });

  it('says the database is unavailable as 503', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(toHttpError(refused).status).toBe(503);
    expect(toHttpError(refused).body.code).toBe('DATABASE_UNAVAILABLE');
  });

  it('answers unknown routes with a JSON 404', () => {
    expect(toHttpError(new NotFoundException('Cannot GET /x')).body).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: 'route not found',
      code: 'NOT_FOUND',
    });
  });
});
