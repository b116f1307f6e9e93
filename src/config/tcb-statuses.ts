/**
 * The TCB status names ACCEPTED_TCB_STATUSES may list: Intel's vocabulary, whose canonical
 * copy (with its order and the TcbStatus type) is TCB_STATUSES in attestation/core. Config sits
 * below attestation and may not import it, so it keeps this list of names for boot-time
 * validation; src/attestation/accepted-tcb-statuses.spec.ts fails if the two ever differ.
 */
export const KNOWN_TCB_STATUSES: readonly string[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];
