/**
 * Quote verification as a service: collateral (directory, PCCS, PostgreSQL cache), the DCAP
 * verifier with its trust anchor, and the public quote tools.
 */
import { Module } from '@nestjs/common';
import { MeasurementsModule } from '../measurements/measurements.module';
import { CollateralCacheRepository } from './collateral/collateral-cache.repository';
import { CollateralService } from './collateral/collateral.service';
import { QuoteToolsController } from './quote-tools.controller';
import { QuoteToolsService } from './quote-tools.service';
import { QuoteVerificationService } from './quote-verification.service';
import { QuoteAppraisalService } from './quote-appraisal.service';

@Module({
  imports: [MeasurementsModule],
  controllers: [QuoteToolsController],
  providers: [CollateralCacheRepository, CollateralService, QuoteVerificationService, QuoteToolsService, QuoteAppraisalService],
  exports: [QuoteVerificationService, CollateralService, QuoteAppraisalService],
})
export class AttestationModule {}
