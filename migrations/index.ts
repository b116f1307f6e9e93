/** Every migration, in order. The same list runs on PostgreSQL and on PGlite. */
import { CreateNonces1763800000000 } from './1763800000000-CreateNonces';

export const MIGRATIONS = [CreateNonces1763800000000];
