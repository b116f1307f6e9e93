/** Request → client IP / client-key hash, with the configured trusted proxies. */
import { Inject, Injectable } from '@nestjs/common';
import type { BlockList } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { X509Certificate } from 'node:crypto';
import { clientCertificate, clientIp, clientKeyHash } from './client-identity';

/** The proxies whose X-Forwarded-For is believed (TRUST_PROXY), a BlockList; ConfigModule provides it (common sits below config). */
export const TRUSTED_PROXIES = Symbol('TRUSTED_PROXIES');

@Injectable()
export class ClientIdentityService {
  constructor(@Inject(TRUSTED_PROXIES) private readonly trusted: BlockList) {}

  ip(request: FastifyRequest): string {
    return clientIp(request, this.trusted);
  }

  keyHash(request: FastifyRequest): string | undefined {
    return clientKeyHash(request, this.trusted);
  }

  certificate(request: FastifyRequest): X509Certificate | undefined {
    return clientCertificate(request, this.trusted);
  }
}
