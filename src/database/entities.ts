/** Every TypeORM entity of the service (the schema itself comes from migrations/). */
import { KekCheckEntity } from '../keys/kek-check.entity';

export const ENTITIES = [KekCheckEntity];
