/** Request → client IP / client-key hash, with the configured trusted proxies. */
import { Inject, Injectable } from '@nestjs/common';
import type { BlockList } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { AppConfig, trustedProxyList } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { clientIp, clientKeyHash } from './client-identity';

@Injectable()
export class ClientIdentityService {
  private readonly trusted: BlockList;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.trusted = trustedProxyList(config.trustProxy);
  }

  ip(request: FastifyRequest): string {
    return clientIp(request, this.trusted);
  }

  keyHash(request: FastifyRequest): string | undefined {
    return clientKeyHash(request, this.trusted);
  }
}
