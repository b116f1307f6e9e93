/**
 * Intel's SGX extension (OID 1.2.840.113741.1.13.1) in a PCK certificate: the platform's FMSPC,
 * PCE-ID, PPID, and its TCB (16 SGX component SVNs, PCESVN, CPUSVN) — the inputs to TCB matching.
 */
import {
  DerCursor,
  DerError,
  DerNode,
  TAG_ENUMERATED,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  decodeOid,
  decodeSmallUnsigned,
  expectTag,
  parseDer,
} from './der';
import { Certificate, OID_SGX_EXTENSION, X509Error, parseCertificate } from './x509';

const OID_PPID = `${OID_SGX_EXTENSION}.1`;
const OID_TCB = `${OID_SGX_EXTENSION}.2`;
const OID_PCE_ID = `${OID_SGX_EXTENSION}.3`;
const OID_FMSPC = `${OID_SGX_EXTENSION}.4`;
const OID_SGX_TYPE = `${OID_SGX_EXTENSION}.5`;
/** TCB sub-OIDs .2.1 … .2.16 are the SGX component SVNs, .2.17 PCESVN, .2.18 CPUSVN. */
const SGX_TCB_COMPONENT_COUNT = 16;
const OID_PCESVN = `${OID_TCB}.17`;
const OID_CPUSVN = `${OID_TCB}.18`;

export interface PckExtension {
  ppid: Uint8Array; // 16
  fmspc: Uint8Array; // 6
  pceId: Uint8Array; // 2
  sgxType: number;
  cpuSvn: Uint8Array; // 16
  pceSvn: number;
  /** SGX TCB component SVNs 1..16, compared against tcbLevels[].tcb.sgxtcbcomponents. */
  sgxTcbComponents: number[];
}

export function parsePckExtension(cert: Certificate): PckExtension {
  const raw = cert.extensions.get(OID_SGX_EXTENSION);
  if (!raw) throw new X509Error('PCK certificate has no SGX extension', 'missing_extension');
  try {
    const fields = oidValueMap(parseDer(raw, 'SGX extension'), 'SGX extension');
    const tcb = oidValueMap(required(fields, OID_TCB, 'TCB'), 'SGX extension TCB');
    const sgxTcbComponents: number[] = [];
    for (let i = 1; i <= SGX_TCB_COMPONENT_COUNT; i++) {
      sgxTcbComponents.push(decodeSmallUnsigned(required(tcb, `${OID_TCB}.${i}`, `SGX TCB component ${i}`), TAG_INTEGER, `SGX TCB component ${i}`));
    }
    return {
      ppid: octets(required(fields, OID_PPID, 'PPID'), 16, 'PPID'),
      fmspc: octets(required(fields, OID_FMSPC, 'FMSPC'), 6, 'FMSPC'),
      pceId: octets(required(fields, OID_PCE_ID, 'PCE-ID'), 2, 'PCE-ID'),
      sgxType: decodeSmallUnsigned(required(fields, OID_SGX_TYPE, 'SGX type'), TAG_ENUMERATED, 'SGX type'),
      cpuSvn: octets(required(tcb, OID_CPUSVN, 'CPUSVN'), 16, 'CPUSVN'),
      pceSvn: decodeSmallUnsigned(required(tcb, OID_PCESVN, 'PCESVN'), TAG_INTEGER, 'PCESVN'),
      sgxTcbComponents,
    };
  } catch (error) {
    if (error instanceof DerError) throw new X509Error(`PCK SGX extension is malformed: ${error.message}`, error.code);
    throw error;
  }
}

/** The platform a PCK leaf certifies: its FMSPC, and which Intel PCK CA issued it. */
export interface PckPlatform {
  fmspc: Uint8Array;
  /** Issued by "Intel SGX PCK Processor CA" (else the Platform CA): picks the PCK CRL to fetch. */
  processorCa: boolean;
}

/** FMSPC and issuing CA of a DER PCK leaf from one parse, or null if it cannot be read. */
export function pckPlatformOfLeaf(leafDer: Uint8Array | undefined): PckPlatform | null {
  if (!leafDer) return null;
  try {
    const certificate = parseCertificate(leafDer);
    // The CA's common name is plain ASCII inside the DER issuer Name.
    return { fmspc: parsePckExtension(certificate).fmspc, processorCa: Buffer.from(certificate.issuer).toString('latin1').includes('Processor') };
  } catch (error) {
    // Only a leaf that does not parse means "no platform"; anything else is a bug, not a verdict.
    if (error instanceof X509Error) return null;
    throw error;
  }
}

/** Convenience for the parse view: the FMSPC of a DER PCK leaf, or null if it cannot be read. */
export function fmspcOfPckLeaf(leafDer: Uint8Array | undefined): Uint8Array | null {
  return pckPlatformOfLeaf(leafDer)?.fmspc ?? null;
}

/** SEQUENCE OF SEQUENCE { OID, value } → OID → value node; duplicates are refused. */
function oidValueMap(sequence: DerNode, element: string): Map<string, DerNode> {
  const map = new Map<string, DerNode>();
  const entries = new DerCursor(expectTag(sequence, TAG_SEQUENCE, element), element);
  for (const [i, entryNode] of entries.rest().entries()) {
    const entry = new DerCursor(expectTag(entryNode, TAG_SEQUENCE, `${element}[${i}]`), `${element}[${i}]`);
    const oid = decodeOid(entry.next(TAG_OID, 'id'), `${element}[${i}].id`);
    const value = entry.nextAny('value');
    entry.end();
    if (map.has(oid)) throw new DerError('unexpected_element', `${element}[${i}]`, `duplicate ${oid}`);
    map.set(oid, value);
  }
  return map;
}

function required(map: Map<string, DerNode>, oid: string, what: string): DerNode {
  const node = map.get(oid);
  if (!node) throw new DerError('missing', `${what} (${oid})`, 'missing');
  return node;
}

function octets(node: DerNode, length: number, what: string): Uint8Array {
  const value = expectTag(node, TAG_OCTET_STRING, what).value;
  if (value.length !== length) throw new DerError('bad_value', what, `${value.length} bytes, expected ${length}`);
  return value;
}
