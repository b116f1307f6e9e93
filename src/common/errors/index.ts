export { ErrorCode } from './error-code';
export { DomainError, isDomainError } from './domain-error';
