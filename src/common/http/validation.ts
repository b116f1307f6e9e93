/**
 * Request validation, answering 422 with a message that names the fields (never their values,
 * which may be secrets or whole quotes). Wrong types, missing fields and bad values are refused
 * everywhere. Unknown properties differ by where they arrive:
 * - in a JSON body they are stripped and ignored: newer clients add fields (a gen-C VM's
 *   `first_boot`), and a boot must not fail on one;
 * - in a query string or path they are refused: a misspelt filter (`?order=`, `?hotkey=`) that
 *   silently did nothing would mislead whoever typed it.
 */
import { ArgumentMetadata, Injectable, PipeTransform, ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, ErrorCode } from '../errors';

function flatten(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((text) => text.replace(error.property, field));
    return own.concat(flatten(error.children ?? [], field));
  });
}

function pipe(forbidUnknown: boolean): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: forbidUnknown,
    forbidUnknownValues: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new DomainError(ErrorCode.VALIDATION_FAILED, flatten(errors).join('; ') || 'request is invalid'),
  });
}

@Injectable()
export class RequestValidationPipe implements PipeTransform {
  private readonly body = pipe(false);
  private readonly other = pipe(true);

  transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return (metadata.type === 'body' ? this.body : this.other).transform(value, metadata);
  }
}

export function createValidationPipe(): PipeTransform {
  return new RequestValidationPipe();
}
