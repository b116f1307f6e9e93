/**
 * What a route says about itself for the OpenAPI document: summary, who may call it, its DTOs
 * and the error codes it can answer with. Paths and methods come from Nest's own decorators.
 */
import { SetMetadata, Type } from '@nestjs/common';
import { ErrorCode } from '../common/errors';

export const API_DOC = 'bootkey:api-doc';

/** Who may call a route (the OpenAPI security requirement). */
export type RouteAuth = 'none' | 'hotkey' | 'admin' | 'boot-token';

export interface HeaderDoc {
  name: string;
  description: string;
  required?: boolean;
}

export interface ApiDocOptions {
  summary: string;
  tag: string;
  auth: RouteAuth;
  body?: Type;
  query?: Type;
  /** The success body: a DTO class, or a free-form description for non-JSON answers. */
  response?: Type | { contentType: string; description: string };
  /** Other success bodies of the same status (e.g. a dry run's answer); the document lists them with `oneOf`. */
  alternativeResponses?: Type[];
  /** A JSON array of this DTO as the success body (Chutes-compatible list answers). */
  responseArrayOf?: Type;
  /** Map-shaped success bodies (`{<volume>: <passphrase>}`) document their values' type (or their JSON schema). */
  responseMapOf?: 'string' | Record<string, unknown>;
  status?: number;
  headers?: HeaderDoc[];
  errors?: ErrorCode[];
}

export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);

/** Names the element type of a nested array property for the document (TypeScript erases it). */
export const NestedArrayOf =
  (type: () => Type): PropertyDecorator =>
  (target, property) => {
    Reflect.defineMetadata('bootkey:nested-type', type(), target, property);
  };
