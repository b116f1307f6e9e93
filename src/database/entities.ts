/** Every TypeORM entity of the service (the schema itself comes from migrations/). */
import { NonceEntity } from '../nonces/nonce.entity';
import { KekCheckEntity } from '../keys/kek-check.entity';
import { MeasurementSetEntity } from '../measurements/measurement-set.entity';

export const ENTITIES = [NonceEntity, KekCheckEntity, MeasurementSetEntity];
