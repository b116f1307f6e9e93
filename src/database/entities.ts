/** Every TypeORM entity of the service (the schema itself comes from migrations/). */
import { NonceEntity } from '../nonces/nonce.entity';

export const ENTITIES = [NonceEntity];
