/** Every TypeORM entity of the service (the schema itself comes from migrations/). */
import { KekCheckEntity } from '../keys/kek-check.entity';
import { MeasurementSetEntity } from '../measurements/measurement-set.entity';

export const ENTITIES = [KekCheckEntity, MeasurementSetEntity];
