/**
 * The admin API (`/admin/*`, hotkeys in ADMIN_HOTKEYS): measurement sets, the attestation audit
 * trail, miner admission and KEK rotation. It owns no table; it reads and changes the other
 * features' tables through their services (and the audit tables through AuditModule's repository).
 */
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MeasurementsModule } from '../measurements/measurements.module';
import { AdminAttestationsController } from './controllers/admin-attestations.controller';
import { AdminKeysController } from './controllers/admin-keys.controller';
import { AdminMeasurementsController } from './controllers/admin-measurements.controller';
import { AdminMinersController } from './controllers/admin-miners.controller';
import { AdminMeasurementsService } from './services/admin-measurements.service';
import { AdminMinersService } from './services/admin-miners.service';
import { AttestationAuditService } from './services/attestation-audit.service';

@Module({
  imports: [AuditModule, MeasurementsModule],
  controllers: [AdminMeasurementsController, AdminAttestationsController, AdminMinersController, AdminKeysController],
  providers: [AdminMeasurementsService, AdminMinersService, AttestationAuditService],
})
export class AdminModule {}
