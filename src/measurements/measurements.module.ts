/** Owns the `measurement_sets` table: what an acceptable TD image measures to. */
import { Module } from '@nestjs/common';
import { MeasurementSetsService } from './measurement-sets.service';

@Module({ providers: [MeasurementSetsService], exports: [MeasurementSetsService] })
export class MeasurementsModule {}
