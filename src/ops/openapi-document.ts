/** The OpenAPI document of the running app, built once from its registered controllers. */
import { Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Type } from '@nestjs/common';
import { buildOpenApiDocument } from '../openapi/openapi.builder';

const VERSION = '0.1.0';

@Injectable()
export class OpenApiDocument {
  private cached?: ReturnType<typeof buildOpenApiDocument>;

  constructor(private readonly discovery: DiscoveryService) {}

  get(): ReturnType<typeof buildOpenApiDocument> {
    this.cached ??= buildOpenApiDocument(
      this.discovery.getControllers().map((wrapper) => wrapper.metatype as Type),
      VERSION,
    );
    return this.cached;
  }
}
