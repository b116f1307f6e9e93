/**
 * Builds the OpenAPI 3.1 document from the registered controllers: Nest's path and method
 * metadata, our @ApiDoc, and the DTOs' class-validator metadata.
 */
import { RequestMethod, Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { OpenApiBuilder, OperationObject, ParameterObject, ResponsesObject } from 'openapi3-ts/oas31';
import { ErrorCode } from '../common/errors';
import { HTTP_STATUS_BY_CODE } from '../common/http/http-status-by-code';
import { SHED_EXEMPT_ROUTES } from '../common/http/load-shedding';
import { AUTH_REQUIREMENT } from '../auth/hotkey-auth.guard';
import { API_DOC, ApiDocOptions } from './api-doc.decorator';
import { dtoSchema, queryParameters } from './dto-schema';

export interface DocumentedRoute {
  method: string;
  path: string;
}

const SECURITY: Record<ApiDocOptions['auth'], Record<string, string[]>[]> = {
  none: [],
  hotkey: [{ hotkeySignature: [] }],
  admin: [{ hotkeySignature: [] }],
  'boot-token': [{ bootToken: [] }],
};

function joinPath(...parts: (string | undefined)[]): string {
  const joined = parts
    .flatMap((part) => (part ?? '').split('/'))
    .filter((segment) => segment.length > 0)
    .join('/');
  return `/${joined}`;
}

/** Nest `:param` → OpenAPI `{param}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParameters(path: string): ParameterObject[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

function responses(doc: ApiDocOptions, path: string): ResponsesObject {
  const status = String(doc.status ?? 200);
  const result: ResponsesObject = {};
  if (doc.response && 'contentType' in doc.response) {
    result[status] = { description: doc.response.description, content: { [doc.response.contentType]: { schema: { type: 'string' } } } };
  } else if (doc.response) {
    const schema = doc.alternativeResponses?.length
      ? { oneOf: [doc.response, ...doc.alternativeResponses].map((type) => dtoSchema(type)) }
      : dtoSchema(doc.response);
    result[status] = { description: 'success', content: { 'application/json': { schema } } };
  } else if (doc.responseArrayOf) {
    result[status] = { description: 'success', content: { 'application/json': { schema: { type: 'array', items: dtoSchema(doc.responseArrayOf) } } } };
  } else if (doc.responseMapOf) {
    result[status] = {
      description: 'success',
      content: {
        'application/json': {
          schema: { type: 'object', additionalProperties: typeof doc.responseMapOf === 'string' ? { type: doc.responseMapOf } : doc.responseMapOf },
        },
      },
    };
  } else {
    result[status] = { description: 'success' };
  }
  const errorsByStatus = new Map<number, ErrorCode[]>();
  for (const code of doc.errors ?? []) {
    const httpStatus = HTTP_STATUS_BY_CODE[code];
    errorsByStatus.set(httpStatus, [...(errorsByStatus.get(httpStatus) ?? []), code]);
  }
  if (doc.body || doc.query) errorsByStatus.set(422, [...(errorsByStatus.get(422) ?? []), ErrorCode.VALIDATION_FAILED]);
  // Any route but health, readiness and metrics may be shed under load (MAX_INFLIGHT).
  if (!SHED_EXEMPT_ROUTES.has(path)) errorsByStatus.set(503, [...(errorsByStatus.get(503) ?? []), ErrorCode.OVERLOADED]);
  for (const [httpStatus, codes] of [...errorsByStatus].sort(([a], [b]) => a - b)) {
    result[String(httpStatus)] = {
      description: `error; code: ${[...new Set(codes)].join(', ')}`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      ...(codes.includes(ErrorCode.OVERLOADED)
        ? { headers: { 'Retry-After': { description: 'seconds to wait before retrying (OVERLOADED)', schema: { type: 'integer' } } } }
        : {}),
    };
  }
  return result;
}

/** The document must say what the guard enforces: a signed route documented as open is a bug. */
function assertAuthDocumented(controller: Type, name: string, handler: object, doc: ApiDocOptions): void {
  const enforced = (Reflect.getMetadata(AUTH_REQUIREMENT, handler) ?? Reflect.getMetadata(AUTH_REQUIREMENT, controller)) as string | undefined;
  const documented = doc.auth === 'hotkey' || doc.auth === 'admin' ? doc.auth : undefined;
  if (enforced !== documented) {
    throw new Error(`route ${controller.name}.${name}: @ApiDoc says auth "${doc.auth}" but the guard enforces "${enforced ?? 'none'}"`);
  }
}

export function buildOpenApiDocument(controllers: Type[], version: string) {
  const builder = OpenApiBuilder.create()
    .addOpenApiVersion('3.1.0')
    .addTitle('bootkey')
    .addVersion(version)
    .addDescription('Boot-attestation and LUKS key broker for Intel TDX confidential VMs.')
    .addSchema('Error', {
      type: 'object',
      required: ['statusCode', 'error', 'message', 'code'],
      properties: {
        statusCode: { type: 'integer' },
        error: { type: 'string' },
        message: { type: 'string' },
        code: { type: 'string', enum: Object.values(ErrorCode) },
      },
    })
    .addSecurityScheme('hotkeySignature', {
      type: 'apiKey',
      in: 'header',
      name: 'X-Chutes-Signature',
      description: [
        'sr25519 signature (hex) by X-Chutes-Hotkey; X-Chutes-Nonce is unix seconds, within ±SIGNATURE_WINDOW_S. Two message formats:',
        'v2 (header `X-Bootkey-Signature-Version: 2`): `bootkey-v2:${hotkey}:${nonce}:${METHOD}:${pathWithQuery}:${audience}:${sha256hex(body)}`,',
        "audience = the broker's SIGNATURE_AUDIENCE (`-` when unset); each v2 signature is accepted once.",
        'v1, the Chutes message, on miner routes only: `${hotkey}:${nonce}:${sha256hex(body)}`, or for an empty body `${hotkey}:${nonce}:tee`',
        '(`:miner` under /miner); `:tee` is also accepted on POST /servers/{server_id}/attestation. A v1 signature is bound to the HTTP method',
        'of its first use and may be used again with that method on other paths, once per method + path with query; another method is',
        '401 SIGNATURE_SCOPE, the same method + path again 401 SIGNATURE_REPLAYED. Admin routes accept only v2: a v1 signature there is',
        '401 SIGNATURE_SCOPE. A signature sent to a path no route serves is consumed all the same (the answer is 404).',
        'Signed requests are limited per hotkey (RATE_LIMIT_SIGNED_PER_MIN, 429 RATE_LIMITED).',
      ].join(' '),
    })
    .addSecurityScheme('bootToken', { type: 'apiKey', in: 'header', name: 'X-Boot-Token', description: 'one-time boot token from boot attestation' });

  const paths: Record<string, Record<string, OperationObject>> = {};
  for (const controller of controllers) {
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string | undefined;
    const prototype = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const handler = prototype[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const routePath = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (routePath === undefined || method === undefined) continue;
      const doc = Reflect.getMetadata(API_DOC, handler) as ApiDocOptions | undefined;
      if (!doc) throw new Error(`route ${controller.name}.${name} has no @ApiDoc`);
      assertAuthDocumented(controller, name, handler, doc);
      for (const single of Array.isArray(routePath) ? routePath : [routePath]) {
        const path = toOpenApiPath(joinPath(base, single));
        const operation: OperationObject = {
          operationId: `${controller.name.replace(/Controller$/, '')}_${name}`,
          summary: doc.summary,
          tags: [doc.tag],
          security: SECURITY[doc.auth],
          parameters: [
            ...pathParameters(path),
            ...(doc.query ? queryParameters(doc.query) : []),
            ...(doc.headers ?? []).map((header) => ({
              name: header.name,
              in: 'header' as const,
              required: header.required ?? true,
              description: header.description,
              schema: { type: 'string' as const },
            })),
          ],
          responses: responses(doc, path),
        };
        if (doc.auth === 'admin') {
          operation.description = 'Admin only: the signing hotkey must be in ADMIN_HOTKEYS, with a v2 signature (a v1 signature is 401 SIGNATURE_SCOPE).';
        }
        if (doc.body) {
          operation.requestBody = { required: true, content: { 'application/json': { schema: dtoSchema(doc.body) } } };
        }
        paths[path] ??= {};
        paths[path][RequestMethod[method].toLowerCase()] = operation;
      }
    }
  }
  for (const path of Object.keys(paths).sort()) builder.addPath(path, paths[path]);
  return builder.getSpec();
}
