/**
 * Turns a DTO class into a JSON Schema (OpenAPI 3.1) from its class-validator decorators, so
 * the document follows the code that validates requests rather than a hand-kept copy.
 */
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import type { SchemaObject } from 'openapi3-ts/oas31';

type Ctor = new (...args: never[]) => unknown;

function metadataOf(dto: Ctor): ValidationMetadata[] {
  return getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
}

function applyConstraint(schema: SchemaObject, meta: ValidationMetadata, nested: (dto: Ctor) => SchemaObject): void {
  // class-validator types the constraints any[]; each case below says what its decorator stores.
  const constraints: unknown[] = meta.constraints ?? [];
  const [first, second] = constraints;
  switch (meta.name ?? meta.type) {
    case 'isString':
      schema.type = 'string';
      break;
    case 'isInt':
      schema.type = 'integer';
      break;
    case 'isNumber':
      schema.type = 'number';
      break;
    case 'isBoolean':
      schema.type = 'boolean';
      break;
    case 'isBase64':
      schema.type = 'string';
      schema.contentEncoding = 'base64';
      break;
    case 'isISO8601':
    case 'isDateString':
      schema.type = 'string';
      schema.format = 'date-time';
      break;
    case 'matches':
      schema.type = 'string';
      schema.pattern = (first as RegExp).source;
      break;
    case 'isIn':
      schema.enum = [...(first as unknown[])];
      break;
    case 'maxLength':
      schema.maxLength = first as number;
      break;
    case 'minLength':
      schema.minLength = first as number;
      break;
    case 'isLength':
      schema.minLength = first as number;
      if (second !== undefined) schema.maxLength = second as number;
      break;
    case 'min':
      schema.minimum = first as number;
      break;
    case 'max':
      schema.maximum = first as number;
      break;
    case 'isArray':
      schema.type = 'array';
      schema.items = schema.items ?? {};
      break;
    case 'arrayMaxSize':
      schema.maxItems = first as number;
      break;
    case 'arrayMinSize':
      schema.minItems = first as number;
      break;
    case 'isObject':
      schema.type = 'object';
      break;
    default:
      break;
  }
  if (meta.type === 'nestedValidation') {
    const typed = (meta.target as { prototype?: object }).prototype;
    // Property types are recorded on the prototype, not on the class itself.
    const nestedType = Reflect.getMetadata('design:type', typed ?? meta.target, meta.propertyName) as Ctor | undefined;
    const declared = typed ? (Reflect.getMetadata('bootkey:nested-type', typed, meta.propertyName) as Ctor | undefined) : undefined;
    const target = declared ?? nestedType;
    if (target && target !== Array && target !== Object) {
      if (schema.type === 'array') schema.items = nested(target);
      else Object.assign(schema, nested(target));
    }
  }
}

/** JSON schema of `dto`; nested DTOs are inlined. */
export function dtoSchema(dto: Ctor): SchemaObject {
  const properties: Record<string, SchemaObject> = {};
  const required = new Set<string>();
  const optional = new Set<string>();
  const eachItem = new Map<string, ValidationMetadata[]>();
  for (const meta of metadataOf(dto)) {
    if (meta.type === 'conditionalValidation') optional.add(meta.propertyName);
    const schema = (properties[meta.propertyName] ??= {});
    if (meta.each) {
      eachItem.set(meta.propertyName, [...(eachItem.get(meta.propertyName) ?? []), meta]);
      continue;
    }
    applyConstraint(schema, meta, dtoSchema);
  }
  for (const [property, metas] of eachItem) {
    const schema = properties[property];
    schema.type = 'array';
    const items: SchemaObject = typeof schema.items === 'object' ? (schema.items as SchemaObject) : {};
    for (const meta of metas) applyConstraint(items, meta, dtoSchema);
    schema.items = items;
  }
  for (const property of Object.keys(properties)) if (!optional.has(property)) required.add(property);
  const schema: SchemaObject = { type: 'object', properties, additionalProperties: false };
  if (required.size > 0) schema.required = [...required];
  return schema;
}

/** The properties of a query DTO, as OpenAPI query parameters. */
export function queryParameters(dto: Ctor) {
  const schema = dtoSchema(dto);
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query' as const,
    required: required.has(name),
    schema: property as SchemaObject,
  }));
}
