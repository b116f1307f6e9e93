/** Owns the `measurement_sets` table: what an acceptable TD image measures to. */
import { Module } from '@nestjs/common';
import { MeasurementSetsRepository } from './measurement-sets.repository';
import { MeasurementSetsService } from './measurement-sets.service';

@Module({ providers: [MeasurementSetsService, MeasurementSetsRepository], exports: [MeasurementSetsService] })
export class MeasurementsModule {}
