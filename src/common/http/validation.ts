/**
 * Request validation: whitelist, forbid unknown properties, and answer 422 with a message that
 * names the fields (never their values, which may be secrets or whole quotes).
 */
import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, ErrorCode } from '../errors';

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) => text.replace(error.property, field));
    return own.concat(flatten(error.children ?? [], field));
  });
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) =>
      new DomainError(ErrorCode.VALIDATION_FAILED, flatten(errors).join('; ') || 'request is invalid'),
  });
}
