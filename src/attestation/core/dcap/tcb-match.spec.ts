import { ErrorCode } from '../../../common/errors';
import { errorCodeOf } from '../../../../test/support/errors';
import { loadFixtureCollateral, loadFixtureQuote } from '../../../../test/vectors/dcap-fixture';
import { parseTdxQuote } from '../quote/tdx-quote.parser';
import type { TdReport } from '../quote/quote.types';
import { parseQeIdentityJson, parseTcbInfoJson } from './collateral-json';
import { TcbInfo, TcbStatus } from './collateral.types';
import { PckExtension, parsePckExtension } from './pck-extension';
import { matchQeIdentity } from './qe-identity';
import { convergeTcbStatus, matchTdxTcbLevel } from './tcb-match';
import { parseCertificate } from './x509';

const collateral = loadFixtureCollateral();
const quote = parseTdxQuote(loadFixtureQuote());
const tcbInfo = parseTcbInfoJson(collateral.tcb_info);
const qeIdentity = parseQeIdentityJson(collateral.qe_identity);
const pck = parsePckExtension(parseCertificate(quote.signature.qeCertification.pckCertChain.certificatesDer[0]));

function withTeeTcbSvn(svn: number[]): TdReport {
  const teeTcbSvn = new Uint8Array(16);
  teeTcbSvn.set(svn);
  return { ...quote.body, teeTcbSvn };
}

const codeOf = errorCodeOf;

describe('PCK SGX extension of the fixture', () => {
  it('carries FMSPC, PCE-ID and the TCB used for matching', () => {
    expect(Buffer.from(pck.fmspc).toString('hex')).toBe('b0c06f000000');
    expect(Buffer.from(pck.pceId).toString('hex')).toBe('0000');
    expect(pck.sgxTcbComponents).toHaveLength(16);
    expect(pck.pceSvn).toBeGreaterThanOrEqual(11);
    expect(Array.from(pck.cpuSvn)).toEqual(pck.sgxTcbComponents);
  });
});

describe('matchTdxTcbLevel', () => {
  it.each([
    // [case, tee_tcb_svn, platform, module]
    ['the fixture (module 1, SVN 6)', [6, 1, 3], 'UpToDate', 'UpToDate'],
    ['module 1 SVN 4: bytes 0..1 are judged by TDX_01, not tdxtcbcomponents', [4, 1, 3], 'UpToDate', 'UpToDate'],
    ['module 1 SVN 3: TDX_01 level OutOfDate', [3, 1, 3], 'UpToDate', 'OutOfDate'],
    ['module 3 SVN 3: TDX_03', [3, 3, 2], 'UpToDate', 'UpToDate'],
    ['module version 0: all 16 components compared', [5, 0, 2], 'UpToDate', null],
  ] as [string, number[], TcbStatus, TcbStatus | null][])('%s', (_name, svn, platform, module) => {
    const result = matchTdxTcbLevel(tcbInfo, pck, withTeeTcbSvn(svn));
    expect(result.platform.status).toBe(platform);
    expect(result.tdxModule?.status ?? null).toBe(module);
  });

  it.each([
    ['module version 2 has no identity', [6, 2, 3]],
    ['module 1 SVN 1 is below every TDX_01 level', [1, 1, 3]],
    ['TDX late microcode SVN below every level', [6, 1, 1]],
    ['module version 0 SVN below every level', [4, 0, 2]],
  ])('TCB_LEVEL_NOT_FOUND: %s', (_name, svn) => {
    expect(codeOf(() => matchTdxTcbLevel(tcbInfo, pck, withTeeTcbSvn(svn)))).toBe(ErrorCode.TCB_LEVEL_NOT_FOUND);
  });

  it('falls to the OutOfDate level (with its advisories) when the PCESVN is old', () => {
    const oldPce: PckExtension = { ...pck, pceSvn: 5 };
    const result = matchTdxTcbLevel(tcbInfo, oldPce, quote.body);
    expect(result.platform.status).toBe('OutOfDate');
    expect(result.platform.advisoryIds).toContain('INTEL-SA-00837');
    expect(codeOf(() => matchTdxTcbLevel(tcbInfo, { ...pck, pceSvn: 4 }, quote.body))).toBe(ErrorCode.TCB_LEVEL_NOT_FOUND);
  });

  it('refuses a TDX module whose signer differs from its identity', () => {
    const mrSignerSeam = new Uint8Array(48).fill(1);
    expect(codeOf(() => matchTdxTcbLevel(tcbInfo, pck, { ...quote.body, mrSignerSeam }))).toBe(ErrorCode.TCB_LEVEL_NOT_FOUND);
    const withoutIdentities: TcbInfo = { ...tcbInfo, tdxModuleIdentities: [] };
    expect(codeOf(() => matchTdxTcbLevel(withoutIdentities, pck, quote.body))).toBe(ErrorCode.TCB_LEVEL_NOT_FOUND);
  });
});

describe('convergeTcbStatus (Intel’s rules)', () => {
  const s = (status: TcbStatus, advisoryIds: string[] = []) => ({ status, advisoryIds });
  it.each([
    ['UpToDate', null, 'UpToDate', 'UpToDate'],
    ['UpToDate', 'OutOfDate', 'UpToDate', 'OutOfDate'],
    ['SWHardeningNeeded', null, 'OutOfDate', 'OutOfDate'],
    ['ConfigurationNeeded', null, 'OutOfDate', 'OutOfDateConfigurationNeeded'],
    ['ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'UpToDate', 'OutOfDateConfigurationNeeded'],
    ['OutOfDate', null, 'UpToDate', 'OutOfDate'],
    ['SWHardeningNeeded', 'UpToDate', 'UpToDate', 'SWHardeningNeeded'],
    ['UpToDate', 'Revoked', 'UpToDate', 'Revoked'],
    ['UpToDate', null, 'Revoked', 'Revoked'],
  ] as [TcbStatus, TcbStatus | null, TcbStatus, TcbStatus][])('platform %s, module %s, QE %s → %s', (platform, module, qe, expected) => {
    expect(convergeTcbStatus(s(platform), module ? s(module) : null, s(qe)).status).toBe(expected);
  });

  it('collects advisories of every contributing level, once each', () => {
    const result = convergeTcbStatus(s('OutOfDate', ['A', 'B']), s('OutOfDate', ['B', 'C']), s('UpToDate', ['D']));
    expect(result.advisoryIds).toEqual(['A', 'B', 'C', 'D']);
  });
});

describe('matchQeIdentity', () => {
  const report = quote.signature.qeCertification.qeReport;
  it('accepts the fixture QE as UpToDate', () => {
    expect(matchQeIdentity(report, qeIdentity).status).toBe('UpToDate');
  });
  it.each([
    ['MRSIGNER', { ...report, mrSigner: new Uint8Array(32) }],
    ['ISVPRODID', { ...report, isvProdId: 1 }],
    ['MISCSELECT', { ...report, miscSelect: 1 }],
    ['ATTRIBUTES', { ...report, attributes: Uint8Array.from(report.attributes, (b, i) => (i === 0 ? b | 0x02 : b)) }],
  ])('QE_IDENTITY_MISMATCH on %s', (_name, changed) => {
    expect(codeOf(() => matchQeIdentity(changed, qeIdentity))).toBe(ErrorCode.QE_IDENTITY_MISMATCH);
  });
  it('TCB_LEVEL_NOT_FOUND when the QE ISVSVN is below every level', () => {
    expect(codeOf(() => matchQeIdentity({ ...report, isvSvn: 3 }, qeIdentity))).toBe(ErrorCode.TCB_LEVEL_NOT_FOUND);
  });
});
