export { ErrorCode, HTTP_STATUS_BY_CODE } from './error-code';
export { DomainError, isDomainError } from './domain-error';
