/**
 * Typed, validated views of Intel's TCB info (TDX, v3) and QE identity (TD_QE) JSON documents.
 * Parsing is separate from signature checking (tcb-info.ts, qe-identity.ts); anything missing or
 * of the wrong type is COLLATERAL_INVALID naming the document and the JSON path.
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { fromHexStrict } from '../quote/encoding';
import { QeIdentity, TCB_STATUSES, TcbInfo, TcbLevel, TcbStatus, TdxModuleIdentity, TdxModuleSigner } from './collateral.types';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
const SVN_COMPONENTS = 16;

/** Walks one JSON document; every failure names the document and the path. */
class JsonReader {
  constructor(private readonly document: string) {}

  parse(text: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw this.fail('', 'is not valid JSON');
    }
    return this.object(value, '');
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail(path, 'is not an object');
    return value as Record<string, unknown>;
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) throw this.fail(path, 'is not an array');
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') throw this.fail(path, 'is not a string');
    return value;
  }

  uint(value: unknown, path: string, max = 0xffff): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
      throw this.fail(path, `is not an integer in 0..${max}`);
    }
    return value;
  }

  hex(value: unknown, path: string, bytes: number): Uint8Array {
    const decoded = fromHexStrict(this.string(value, path));
    if (!decoded || decoded.length !== bytes) throw this.fail(path, `is not ${bytes} bytes of hex`);
    return decoded;
  }

  date(value: unknown, path: string): number {
    const text = this.string(value, path);
    const ms = ISO_UTC.test(text) ? Date.parse(text) : NaN;
    if (Number.isNaN(ms)) throw this.fail(path, 'is not an ISO-8601 UTC date');
    return ms;
  }

  status(value: unknown, path: string): TcbStatus {
    const text = this.string(value, path);
    if (!(TCB_STATUSES as readonly string[]).includes(text)) throw this.fail(path, `has unknown status "${text.slice(0, 40)}"`);
    return text as TcbStatus;
  }

  advisoryIds(value: unknown, path: string): string[] {
    if (value === undefined) return [];
    return this.array(value, path).map((id, i) => this.string(id, `${path}[${i}]`));
  }

  svnComponents(value: unknown, path: string): number[] {
    const list = this.array(value, path);
    if (list.length !== SVN_COMPONENTS) throw this.fail(path, `has ${list.length} components, expected ${SVN_COMPONENTS}`);
    return list.map((component, i) => this.uint(this.object(component, `${path}[${i}]`).svn, `${path}[${i}].svn`, 0xff));
  }

  fail(path: string, problem: string): DomainError {
    const where = path ? `${this.document}.${path}` : this.document;
    return new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${where} ${problem}`, { document: this.document, path });
  }
}

export function parseTcbInfoJson(text: string): TcbInfo {
  const json = new JsonReader('tcb_info');
  const root = json.parse(text);
  const id = json.string(root.id, 'id');
  const version = json.uint(root.version, 'version');
  // Only the TDX TCB info (v3 and later) carries tdxtcbcomponents and the TDX module identities.
  if (id !== 'TDX' || version < 3) throw json.fail('id', `is "${id.slice(0, 16)}" v${version}, expected TDX v3+`);
  const tcbType = json.uint(root.tcbType, 'tcbType');
  if (tcbType !== 0) throw json.fail('tcbType', `is ${tcbType}; only type 0 is defined`);
  const levels = json.array(root.tcbLevels, 'tcbLevels');
  if (levels.length === 0) throw json.fail('tcbLevels', 'is empty');
  return {
    id,
    version,
    issueDate: json.date(root.issueDate, 'issueDate'),
    nextUpdate: json.date(root.nextUpdate, 'nextUpdate'),
    fmspc: Buffer.from(json.hex(root.fmspc, 'fmspc', 6)).toString('hex'),
    pceId: Buffer.from(json.hex(root.pceId, 'pceId', 2)).toString('hex'),
    tcbType,
    tcbEvaluationDataNumber: json.uint(root.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber', 0xffffffff),
    tcbLevels: levels.map((level, i) => parseTcbLevel(json, level, `tcbLevels[${i}]`)),
    tdxModule: root.tdxModule === undefined ? undefined : parseModuleSigner(json, root.tdxModule, 'tdxModule'),
    tdxModuleIdentities:
      root.tdxModuleIdentities === undefined
        ? []
        : json.array(root.tdxModuleIdentities, 'tdxModuleIdentities').map((identity, i) => parseModuleIdentity(json, identity, `tdxModuleIdentities[${i}]`)),
  };
}

function parseTcbLevel(json: JsonReader, value: unknown, path: string): TcbLevel {
  const level = json.object(value, path);
  const tcb = json.object(level.tcb, `${path}.tcb`);
  return {
    sgxTcbComponents: json.svnComponents(tcb.sgxtcbcomponents, `${path}.tcb.sgxtcbcomponents`),
    pceSvn: json.uint(tcb.pcesvn, `${path}.tcb.pcesvn`),
    tdxTcbComponents: json.svnComponents(tcb.tdxtcbcomponents, `${path}.tcb.tdxtcbcomponents`),
    tcbDate: json.string(level.tcbDate, `${path}.tcbDate`),
    tcbStatus: json.status(level.tcbStatus, `${path}.tcbStatus`),
    advisoryIds: json.advisoryIds(level.advisoryIDs, `${path}.advisoryIDs`),
  };
}

function parseModuleSigner(json: JsonReader, value: unknown, path: string): TdxModuleSigner {
  const module = json.object(value, path);
  return {
    mrSigner: json.hex(module.mrsigner, `${path}.mrsigner`, 48),
    attributes: json.hex(module.attributes, `${path}.attributes`, 8),
    attributesMask: json.hex(module.attributesMask, `${path}.attributesMask`, 8),
  };
}

function parseModuleIdentity(json: JsonReader, value: unknown, path: string): TdxModuleIdentity {
  const identity = json.object(value, path);
  return {
    id: json.string(identity.id, `${path}.id`),
    ...parseModuleSigner(json, identity, path),
    tcbLevels: parseIsvSvnLevels(json, identity.tcbLevels, `${path}.tcbLevels`),
  };
}

function parseIsvSvnLevels(json: JsonReader, value: unknown, path: string): TdxModuleIdentity['tcbLevels'] {
  const levels = json.array(value, path);
  if (levels.length === 0) throw json.fail(path, 'is empty');
  return levels.map((entry, i) => {
    const level = json.object(entry, `${path}[${i}]`);
    return {
      isvSvn: json.uint(json.object(level.tcb, `${path}[${i}].tcb`).isvsvn, `${path}[${i}].tcb.isvsvn`),
      tcbDate: json.string(level.tcbDate, `${path}[${i}].tcbDate`),
      tcbStatus: json.status(level.tcbStatus, `${path}[${i}].tcbStatus`),
      advisoryIds: json.advisoryIds(level.advisoryIDs, `${path}[${i}].advisoryIDs`),
    };
  });
}

export function parseQeIdentityJson(text: string): QeIdentity {
  const json = new JsonReader('qe_identity');
  const root = json.parse(text);
  const id = json.string(root.id, 'id');
  const version = json.uint(root.version, 'version');
  // TDX quotes are produced by the TD quoting enclave; an SGX "QE" identity must not vouch for them.
  if (id !== 'TD_QE' || (version !== 2 && version !== 3)) {
    throw json.fail('id', `is "${id.slice(0, 16)}" v${version}, expected TD_QE v2 or v3`);
  }
  return {
    id,
    version,
    issueDate: json.date(root.issueDate, 'issueDate'),
    nextUpdate: json.date(root.nextUpdate, 'nextUpdate'),
    tcbEvaluationDataNumber: json.uint(root.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber', 0xffffffff),
    // The hex is the byte string as it sits in the report, whose u32 fields are little-endian.
    miscSelect: Buffer.from(json.hex(root.miscselect, 'miscselect', 4)).readUInt32LE(0),
    miscSelectMask: Buffer.from(json.hex(root.miscselectMask, 'miscselectMask', 4)).readUInt32LE(0),
    attributes: json.hex(root.attributes, 'attributes', 16),
    attributesMask: json.hex(root.attributesMask, 'attributesMask', 16),
    mrSigner: json.hex(root.mrsigner, 'mrsigner', 32),
    isvProdId: json.uint(root.isvprodid, 'isvprodid'),
    tcbLevels: parseIsvSvnLevels(json, root.tcbLevels, 'tcbLevels'),
  };
}
