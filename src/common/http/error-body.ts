import { STATUS_CODES } from 'node:http';
import { ErrorCode } from '../errors';

/** The JSON error body every route answers with (DESIGN.md "Errors"). */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code: string;
}

export function errorBody(statusCode: number, code: ErrorCode | string, message: string): ErrorBody {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, code };
}
