/** Owns the `measurement_sets` table: what an acceptable TD image measures to, and its public listing. */
import { Module } from '@nestjs/common';
import { MeasurementSetsRepository } from './measurement-sets.repository';
import { MeasurementSetsService } from './measurement-sets.service';
import { MeasurementsController } from './measurements.controller';
import { PublishedMeasurementsService } from './published-measurements.service';

@Module({
  controllers: [MeasurementsController],
  providers: [MeasurementSetsService, MeasurementSetsRepository, PublishedMeasurementsService],
  exports: [MeasurementSetsService],
})
export class MeasurementsModule {}
