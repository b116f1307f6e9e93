/**
 * The forge's default "platform": the values the PCK certificate, the collateral and the quote
 * must agree on for a forged quote to verify. They mirror the real sample quote in
 * ../shared/fixtures/dcap (same TCB shape), except the FMSPC, which is deliberately not a real
 * one so forged and real collateral never collide in a COLLATERAL_DIR index.
 */

/** FMSPC of the forged platform, uppercase hex as Intel writes it in TCB info. */
export const DEFAULT_FMSPC = 'F0C0DE000000';
export const DEFAULT_PCE_ID = '0000';

/** SGX TCB components 01..16 of the platform (the PCK certificate's CPUSVN is these bytes). */
export const DEFAULT_SGX_TCB_COMPONENTS: readonly number[] = [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
export const DEFAULT_PCESVN = 11;

/**
 * TEE_TCB_SVN of the TD report: [0] TDX module SVN, [1] TDX module major version (selects the
 * "TDX_01" module identity), [2] TDX late microcode update SVN; the rest zero.
 */
export const DEFAULT_TEE_TCB_SVN: readonly number[] = [6, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** The TDX module is signed by Intel with an all-zero MRSIGNERSEAM and zero SEAM attributes. */
export const DEFAULT_MRSIGNERSEAM = Buffer.alloc(48);
export const DEFAULT_SEAM_ATTRIBUTES = Buffer.alloc(8);

/** TD attributes of a production TD: only SEPT_VE_DISABLE (bit 28) set, as in the real sample. */
export const DEFAULT_TD_ATTRIBUTES = Buffer.from('0000001000000000', 'hex');
/** XFAM of the real sample quote (x87, SSE, AVX, AVX-512, PKRU, AMX...). */
export const DEFAULT_XFAM = Buffer.from('e702060000000000', 'hex');

/**
 * The TD quoting enclave. MRSIGNER and ISVPRODID are Intel's real TD QE values, so forged QE
 * reports look like real ones; the QE identity in forged collateral uses the same values.
 */
export const DEFAULT_QE = {
  mrSigner: 'DC9E2A7C6F948F17474E34A7FC43ED030F7C1563F1BABDDF6340C82E0E54A8C5',
  isvProdId: 2,
  isvSvn: 6,
  miscSelect: 0,
  /** Byte 0 = 0x15 (INIT | MODE64BIT | PROVISIONKEY), bytes 8..15 = XFRM, as in real QE reports. */
  attributes: '1500000000000000e700000000000000',
  /** Lowest QE ISVSVN the forged QE identity rates UpToDate. */
  minUpToDateIsvSvn: 4,
} as const;

/** Intel's QE auth data in real quotes is the 32 bytes 00 01 .. 1f. */
export const DEFAULT_QE_AUTH_DATA = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

/** Lifetime of the collateral Intel publishes (TCB info, QE identity, PCK CRL): 30 days. */
export const COLLATERAL_LIFETIME_DAYS = 30;
