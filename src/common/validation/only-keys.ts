/**
 * `@HasOnlyKeys([...])`: a nested object whose keys are values, not fields. Unknown body fields are
 * ignored everywhere (newer clients add fields), but a register map like `boot_rtmrs` names what
 * gets checked: a misspelt `RTMR3` silently dropped would weaken a policy, so it is refused.
 * Runs before the nested object is whitelisted, so it sees the keys as sent.
 */
import { ValidationOptions, registerDecorator } from 'class-validator';

export function HasOnlyKeys(keys: readonly string[], options: ValidationOptions = {}): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'hasOnlyKeys',
      target: target.constructor,
      propertyName: propertyName as string,
      // Names the unknown keys (field names, not values), shortened so a hostile key stays small.
      options: {
        message: (args) => {
          const extra = Object.keys(args.value as object).filter((key) => !keys.includes(key));
          const named = extra
            .slice(0, 3)
            .map((key) => JSON.stringify(key.slice(0, 32)))
            .join(', ');
          return `${args.property} has unknown key(s) ${named}${extra.length > 3 ? ', ...' : ''}; it may only hold ${keys.join(', ')}`;
        },
        ...options,
      },
      constraints: [keys],
      validator: {
        validate(value: unknown): boolean {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return true; // @IsObject reports the type
          return Object.keys(value).every((key) => keys.includes(key));
        },
      },
    });
}
