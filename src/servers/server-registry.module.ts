/**
 * The server registry's repository on its own, for modules that must read registrations without
 * depending on server registration (boot attestation pins a VM name to its server's host; the
 * servers module itself depends on boot through volume keys).
 */
import { Module } from '@nestjs/common';
import { ServersRepository } from './servers.repository';

@Module({
  providers: [ServersRepository],
  exports: [ServersRepository],
})
export class ServerRegistryModule {}
