/**
 * The admin API (`/admin/*`, hotkeys in ADMIN_HOTKEYS): measurement sets, the attestation audit
 * trail, the key-release trail, miner admission and KEK rotation and status. It owns no table; it reads and changes the other
 * features' tables through their services (and the audit tables through AuditModule's repository).
 */
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MeasurementsModule } from '../measurements/measurements.module';
import { ServerRegistryModule } from '../servers/server-registry.module';
import { AdminAttestationsController } from './controllers/admin-attestations.controller';
import { AdminKeyEventsController } from './controllers/admin-key-events.controller';
import { AdminKeysController } from './controllers/admin-keys.controller';
import { AdminMeasurementsController } from './controllers/admin-measurements.controller';
import { AdminMinersController } from './controllers/admin-miners.controller';
import { AdminMeasurementsService } from './services/admin-measurements.service';
import { AdminMinersService } from './services/admin-miners.service';
import { AttestationAuditService } from './services/attestation-audit.service';
import { KeyEventsService } from './services/key-events.service';

@Module({
  imports: [AuditModule, MeasurementsModule, ServerRegistryModule],
  controllers: [AdminMeasurementsController, AdminAttestationsController, AdminMinersController, AdminKeysController, AdminKeyEventsController],
  providers: [AdminMeasurementsService, AdminMinersService, AttestationAuditService, KeyEventsService],
})
export class AdminModule {}
