/**
 * TCB info and QE identity JSON: every missing field, wrong JSON type or out-of-range value is
 * COLLATERAL_INVALID whose detail names the document and the JSON path, never a TypeError.
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { createForge } from '../../../../test/support/forge';
import { loadFixtureCollateral } from '../../../../test/vectors/dcap-fixture';
import { parseQeIdentityJson, parseTcbInfoJson } from './collateral-json';

type Json = Record<string, unknown>;

let tcbInfoText: string;
let qeIdentityText: string;
beforeAll(async () => {
  const forge = await createForge({ now: new Date('2026-03-01T00:00:00Z'), pki: { seed: 'collateral-json-spec' } });
  tcbInfoText = forge.collateral.tcb_info;
  qeIdentityText = forge.collateral.qe_identity;
});

/** A deep copy of `text`'s JSON after `edit`, re-serialised. */
function edited(text: string, edit: (json: Json) => void): string {
  const json = JSON.parse(text) as Json;
  edit(json);
  return JSON.stringify(json);
}

/** Walks a path of keys and indexes to the object holding the last one. */
function at(json: Json, ...path: (string | number)[]): Json {
  let node: unknown = json;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  return node as Json;
}

function failureOf(run: () => unknown): { code: string; document: unknown; path: unknown } {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, document: error.detail?.document, path: error.detail?.path };
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('parseTcbInfoJson', () => {
  it('reads the forged TCB info and the real Intel one', () => {
    const forged = parseTcbInfoJson(tcbInfoText);
    expect([forged.id, forged.version, forged.tcbLevels.length > 0, forged.tdxModuleIdentities[0]?.id]).toEqual(['TDX', 3, true, 'TDX_01']);
    expect(parseTcbInfoJson(loadFixtureCollateral().tcb_info).fmspc).toBe('b0c06f000000');
  });

  it.each<[string, (json: Json) => void, string]>([
    ['id missing', (j) => delete j.id, 'id'],
    ['id a number', (j) => (j.id = 7), 'id'],
    ['an SGX TCB info', (j) => (j.id = 'SGX'), 'id'],
    ['version 2', (j) => (j.version = 2), 'id'],
    ['version a string', (j) => (j.version = '3'), 'version'],
    ['version fractional', (j) => (j.version = 3.5), 'version'],
    ['tcbType 1', (j) => (j.tcbType = 1), 'tcbType'],
    ['issueDate not ISO', (j) => (j.issueDate = '2026-02-28 00:00:00'), 'issueDate'],
    ['issueDate null', (j) => (j.issueDate = null), 'issueDate'],
    ['nextUpdate out of range', (j) => (j.nextUpdate = '2026-13-01T00:00:00Z'), 'nextUpdate'],
    ['fmspc 5 bytes', (j) => (j.fmspc = '0011223344'), 'fmspc'],
    ['fmspc not hex', (j) => (j.fmspc = 'zz0011223344'), 'fmspc'],
    ['pceId an array', (j) => (j.pceId = [0, 0]), 'pceId'],
    ['tcbEvaluationDataNumber negative', (j) => (j.tcbEvaluationDataNumber = -1), 'tcbEvaluationDataNumber'],
    ['tcbLevels missing', (j) => delete j.tcbLevels, 'tcbLevels'],
    ['tcbLevels an object', (j) => (j.tcbLevels = {}), 'tcbLevels'],
    ['tcbLevels empty', (j) => (j.tcbLevels = []), 'tcbLevels'],
    ['a level that is null', (j) => ((j.tcbLevels as unknown[])[0] = null), 'tcbLevels[0]'],
    ['a level without tcb', (j) => delete at(j, 'tcbLevels', 0).tcb, 'tcbLevels[0].tcb'],
    ['15 SGX components', (j) => (at(j, 'tcbLevels', 0, 'tcb').sgxtcbcomponents as unknown[]).pop(), 'tcbLevels[0].tcb.sgxtcbcomponents'],
    ['an SGX component that is a number', (j) => ((at(j, 'tcbLevels', 0, 'tcb').sgxtcbcomponents as unknown[])[3] = 4), 'tcbLevels[0].tcb.sgxtcbcomponents[3]'],
    ['an SVN of 256', (j) => (at(j, 'tcbLevels', 0, 'tcb', 'sgxtcbcomponents', 0).svn = 256), 'tcbLevels[0].tcb.sgxtcbcomponents[0].svn'],
    ['an SVN as a string', (j) => (at(j, 'tcbLevels', 0, 'tcb', 'tdxtcbcomponents', 2).svn = '3'), 'tcbLevels[0].tcb.tdxtcbcomponents[2].svn'],
    ['tdxtcbcomponents missing', (j) => delete at(j, 'tcbLevels', 0, 'tcb').tdxtcbcomponents, 'tcbLevels[0].tcb.tdxtcbcomponents'],
    ['pcesvn missing', (j) => delete at(j, 'tcbLevels', 0, 'tcb').pcesvn, 'tcbLevels[0].tcb.pcesvn'],
    ['tcbDate a number', (j) => (at(j, 'tcbLevels', 0).tcbDate = 20240313), 'tcbLevels[0].tcbDate'],
    ['an unknown tcbStatus', (j) => (at(j, 'tcbLevels', 0).tcbStatus = 'Fine'), 'tcbLevels[0].tcbStatus'],
    ['advisoryIDs a string', (j) => (at(j, 'tcbLevels', 0).advisoryIDs = 'INTEL-SA-00615'), 'tcbLevels[0].advisoryIDs'],
    ['an advisory id that is a number', (j) => (at(j, 'tcbLevels', 0).advisoryIDs = [615]), 'tcbLevels[0].advisoryIDs[0]'],
    ['tdxModule a string', (j) => (j.tdxModule = 'TDX'), 'tdxModule'],
    ['tdxModule mrsigner 47 bytes', (j) => (at(j, 'tdxModule').mrsigner = '00'.repeat(47)), 'tdxModule.mrsigner'],
    ['tdxModule attributesMask missing', (j) => delete at(j, 'tdxModule').attributesMask, 'tdxModule.attributesMask'],
    ['tdxModuleIdentities an object', (j) => (j.tdxModuleIdentities = {}), 'tdxModuleIdentities'],
    ['a module identity without id', (j) => delete at(j, 'tdxModuleIdentities', 0).id, 'tdxModuleIdentities[0].id'],
    ['a module identity without levels', (j) => (at(j, 'tdxModuleIdentities', 0).tcbLevels = []), 'tdxModuleIdentities[0].tcbLevels'],
    [
      'a module level isvsvn as a string',
      (j) => (at(j, 'tdxModuleIdentities', 0, 'tcbLevels', 1, 'tcb').isvsvn = '2'),
      'tdxModuleIdentities[0].tcbLevels[1].tcb.isvsvn',
    ],
  ])('%s', (_name, edit, path) => {
    expect(failureOf(() => parseTcbInfoJson(edited(tcbInfoText, edit)))).toEqual({ code: ErrorCode.COLLATERAL_INVALID, document: 'tcb_info', path });
  });

  it.each([
    ['not JSON', '{"id":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"TDX"'],
    ['empty', ''],
  ])('refuses %s at the root', (_name, text) => {
    expect(failureOf(() => parseTcbInfoJson(text))).toEqual({ code: ErrorCode.COLLATERAL_INVALID, document: 'tcb_info', path: '' });
  });
});

describe('parseQeIdentityJson', () => {
  it('reads the forged QE identity and the real Intel one', () => {
    expect(parseQeIdentityJson(qeIdentityText)).toMatchObject({ id: 'TD_QE', version: 2, isvProdId: 2 });
    expect(parseQeIdentityJson(loadFixtureCollateral().qe_identity).id).toBe('TD_QE');
  });

  it.each<[string, (json: Json) => void, string]>([
    ['an SGX QE identity', (j) => (j.id = 'QE'), 'id'],
    ['version 4', (j) => (j.version = 4), 'id'],
    ['id missing', (j) => delete j.id, 'id'],
    ['miscselect 3 bytes', (j) => (j.miscselect = '000000'), 'miscselect'],
    ['miscselectMask a number', (j) => (j.miscselectMask = 0xffffffff), 'miscselectMask'],
    ['attributes 8 bytes', (j) => (j.attributes = '00'.repeat(8)), 'attributes'],
    ['attributesMask missing', (j) => delete j.attributesMask, 'attributesMask'],
    ['mrsigner 48 bytes', (j) => (j.mrsigner = '00'.repeat(48)), 'mrsigner'],
    ['isvprodid above 0xffff', (j) => (j.isvprodid = 0x10000), 'isvprodid'],
    ['tcbLevels missing', (j) => delete j.tcbLevels, 'tcbLevels'],
    ['tcbLevels empty', (j) => (j.tcbLevels = []), 'tcbLevels'],
    ['a level whose tcb is an array', (j) => (at(j, 'tcbLevels', 0).tcb = []), 'tcbLevels[0].tcb'],
    ['a level without tcbStatus', (j) => delete at(j, 'tcbLevels', 0).tcbStatus, 'tcbLevels[0].tcbStatus'],
    ['issueDate with an offset instead of Z', (j) => (j.issueDate = '2026-02-28T00:00:00+00:00'), 'issueDate'],
  ])('%s', (_name, edit, path) => {
    expect(failureOf(() => parseQeIdentityJson(edited(qeIdentityText, edit)))).toEqual({ code: ErrorCode.COLLATERAL_INVALID, document: 'qe_identity', path });
  });
});
