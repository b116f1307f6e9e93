/** Every migration, in order. The same list runs on PostgreSQL and on PGlite. */
import { CreateNonces1763800000000 } from './1763800000000-CreateNonces';
import { CreateKeyCustody1763800100000 } from './1763800100000-CreateKeyCustody';
import { CreateCollateralCache1763800200000 } from './1763800200000-CreateCollateralCache';
import { CreateMeasurementSets1763800300000 } from './1763800300000-CreateMeasurementSets';
import { CreateBootCustody1763800400000 } from './1763800400000-CreateBootCustody';
import { CreateServers1763800500000 } from './1763800500000-CreateServers';
import { CreateSignatureReplay1763800600000 } from './1763800600000-CreateSignatureReplay';
import { SignatureScope1763800700000 } from './1763800700000-SignatureScope';
import { CollateralCacheOrder1763809100000 } from './1763809100000-CollateralCacheOrder';
import { VolumeKeyGenerations1763800900000 } from './1763800900000-VolumeKeyGenerations';
import { MeasurementSetIdentity1763801000000 } from './1763801000000-MeasurementSetIdentity';
import { AuditIndexes1763801100000 } from './1763801100000-AuditIndexes';
import { GenC1763801200000 } from './1763801200000-GenC';

export const MIGRATIONS = [
  CreateNonces1763800000000,
  CreateKeyCustody1763800100000,
  CreateCollateralCache1763800200000,
  CreateMeasurementSets1763800300000,
  CreateBootCustody1763800400000,
  CreateServers1763800500000,
  CreateSignatureReplay1763800600000,
  SignatureScope1763800700000,
  CollateralCacheOrder1763809100000,
  VolumeKeyGenerations1763800900000,
  MeasurementSetIdentity1763801000000,
  AuditIndexes1763801100000,
  GenC1763801200000,
];
