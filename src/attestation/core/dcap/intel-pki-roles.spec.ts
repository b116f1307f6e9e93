/**
 * Issue 12, item 1: who may sign what under the root. Intel's QVL accepts TCB info and QE identity
 * only from [TCB signing certificate issued by the root, root]; PCK chains only as [leaf, Intel
 * PCK Platform/Processor CA issued by the root, root]; CRLs only from CAs of those roles. Every
 * other certificate under the root — here the forge's PCK leaf (one platform's key), its PCK CA,
 * or a "TCB signing" look-alike issued by the PCK CA — signs nothing.
 */
import { createCrlBy, createForge, Forge, forgeQuote, issueExtraCertificate, pemChain, PkiEntity, resignCollateral } from '../../../../test/support/forge';
import { QuoteVerifier as OracleVerifier } from '@phala/dcap-qvl';
import { loadRealCase, realCaseNames } from '../../../../test/vectors/real-quotes';
import { DomainError, ErrorCode } from '../../../common/errors';
import { parseTdxQuote } from '../quote/tdx-quote.parser';
import { INTEL_SGX_ROOT_CA_DER } from './root-ca';
import { QuoteCollateral } from './collateral.types';
import { QuoteVerifier } from './quote-verifier';

const NOW = new Date('2026-03-01T00:00:00Z');
let forge: Forge;

beforeAll(async () => {
  forge = await createForge({ now: NOW, pki: { seed: 'intel-pki-roles' } });
});

function outcome(collateral: QuoteCollateral, quote: Buffer = forge.quote()): { code: string; step?: unknown } {
  try {
    return { code: new QuoteVerifier(forge.rootCaDer).verify(quote, collateral, NOW).tcbStatus };
  } catch (error) {
    if (error instanceof DomainError) return { code: error.code, step: error.detail?.step };
    throw error;
  }
}

const signedBy = (entity: PkiEntity, chain: PkiEntity[]) => ({ key: entity.key, chainPem: pemChain(chain) });

describe('TCB info and QE identity signers', () => {
  const signers: [string, () => Promise<{ key: PkiEntity['key']; chainPem: string }>][] = [
    ["the platform's PCK leaf", async () => signedBy(forge.pki.pckLeaf, [forge.pki.pckLeaf, forge.pki.pckCa, forge.pki.root])],
    ['the PCK CA', async () => signedBy(forge.pki.pckCa, [forge.pki.pckCa, forge.pki.root])],
    [
      'a "TCB signing" leaf issued by the PCK CA',
      async () => {
        const lookAlike = await issueExtraCertificate(forge.pki, { issuer: 'pckCa', commonName: 'Intel SGX TCB Signing' });
        return signedBy(lookAlike, [lookAlike, forge.pki.pckCa, forge.pki.root]);
      },
    ],
    [
      'a leaf under the root that carries the SGX extension',
      async () => {
        const pckLike = await issueExtraCertificate(forge.pki, { issuer: 'root', commonName: 'Intel SGX TCB Signing', sgxExtension: true });
        return signedBy(pckLike, [pckLike, forge.pki.root]);
      },
    ],
    [
      'a leaf under the root with another name',
      async () => {
        const other = await issueExtraCertificate(forge.pki, { issuer: 'root', commonName: 'Intel SGX TCB Signing 2' });
        return signedBy(other, [other, forge.pki.root]);
      },
    ],
    [
      'a leaf under the root without keyUsage digitalSignature',
      async () => {
        const noSign = await issueExtraCertificate(forge.pki, { issuer: 'root', commonName: 'Intel SGX TCB Signing', keyUsage: 'keyAgreementOnly' });
        return signedBy(noSign, [noSign, forge.pki.root]);
      },
    ],
    ['the TCB signing key with its chain missing the root', async () => signedBy(forge.pki.tcbSigning, [forge.pki.tcbSigning])],
  ];

  it.each(signers)('refuses collateral signed by %s (COLLATERAL_INVALID)', async (_name, signer) => {
    const genuine = outcome(forge.collateral);
    expect(genuine.code).toBe('UpToDate');
    const s = await signer();
    for (const documents of ['tcbInfo', 'qeIdentity'] as const) {
      const result = outcome(resignCollateral(forge.collateral, s, documents));
      expect([documents, result.code]).toEqual([documents, ErrorCode.COLLATERAL_INVALID]);
      expect(result.step).toBe(documents === 'tcbInfo' ? 'tcb_info_issuer_chain' : 'qe_identity_issuer_chain');
    }
  });

  it('PCK-key collateral cannot turn an OutOfDate platform UpToDate', async () => {
    // The platform runs an older TDX late microcode than the genuine collateral's UpToDate level.
    const teeTcbSvn = Buffer.from([6, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const quote = forge.quote({ teeTcbSvn });
    expect(outcome(forge.collateral, quote).code).toBe('OutOfDate');
    // The attacker's TCB info rates exactly this platform UpToDate, signed with the PCK key.
    const flattering = await forge.collateralWith({ teeTcbSvn: [...teeTcbSvn] });
    const forged = resignCollateral(flattering, signedBy(forge.pki.pckLeaf, [forge.pki.pckLeaf, forge.pki.pckCa, forge.pki.root]));
    expect(outcome(forged, quote).code).toBe(ErrorCode.COLLATERAL_INVALID);
  });

  it('known, deliberate difference: @phala/dcap-qvl 0.3.9 accepts a PCK-signed TCB info (it checks no roles)', () => {
    const forged = resignCollateral(forge.collateral, signedBy(forge.pki.pckLeaf, [forge.pki.pckLeaf, forge.pki.pckCa, forge.pki.root]));
    expect(OracleVerifier.newWithRootCa(forge.rootCaDer).verify(forge.quote(), forged as never, NOW.getTime() / 1000).status).toBe('UpToDate');
    expect(outcome(forged).code).toBe(ErrorCode.COLLATERAL_INVALID);
  });

  it('still accepts the genuine TCB signing chain (with the root) from the forge', () => {
    expect(outcome(forge.collateral).code).toBe('UpToDate');
  });
});

describe('PCK chains and CRL issuers', () => {
  /** A quote whose PCK chain is [leaf, ca, root] with a fresh leaf issued by `ca`. */
  async function quoteUnder(ca: PkiEntity, leafName = 'Intel SGX PCK Certificate'): Promise<Buffer> {
    const leaf = await issueExtraCertificate(forge.pki, { issuer: ca, commonName: leafName, sgxExtension: true });
    const chain = pemChain([leaf, ca, forge.pki.root]);
    return forgeQuote({ ...forge.pki, pckCa: ca, pckLeaf: leaf, pckCertChainPem: chain });
  }

  it('refuses a PCK chain whose CA is not named as an Intel PCK CA', async () => {
    const strangeCa = await issueExtraCertificate(forge.pki, { issuer: 'root', commonName: 'Intel SGX PCK Other CA', ca: true });
    expect(outcome(forge.collateral, await quoteUnder(strangeCa)).code).toBe(ErrorCode.PCK_CHAIN_INVALID);
  });

  it('refuses a PCK leaf not named as a PCK certificate', async () => {
    expect(outcome(forge.collateral, await quoteUnder(forge.pki.pckCa)).code).toBe('UpToDate');
    expect(outcome(forge.collateral, await quoteUnder(forge.pki.pckCa, 'Intel SGX TCB Signing')).code).toBe(ErrorCode.PCK_CHAIN_INVALID);
  });

  it('refuses a PCK chain without the root, or with an extra certificate', () => {
    const short = forge.quote({ pckCertChainPem: pemChain([forge.pki.pckLeaf, forge.pki.pckCa]) });
    expect(outcome(forge.collateral, short).code).toBe(ErrorCode.PCK_CHAIN_INVALID);
    const long = forge.quote({ pckCertChainPem: pemChain([forge.pki.pckLeaf, forge.pki.pckCa, forge.pki.root, forge.pki.root]) });
    expect(outcome(forge.collateral, long).code).toBe(ErrorCode.PCK_CHAIN_INVALID);
  });

  it('refuses a PCK CRL issuer chain whose issuer is not an Intel PCK CA', () => {
    const wrong = { ...forge.collateral, pck_crl_issuer_chain: pemChain([forge.pki.tcbSigning, forge.pki.root]) };
    expect(outcome(wrong).code).toBe(ErrorCode.COLLATERAL_INVALID);
  });

  const crlOf = async (issuer: PkiEntity) =>
    (await createCrlBy(issuer, { thisUpdate: new Date(NOW.getTime() - 86400_000), nextUpdate: new Date(NOW.getTime() + 29 * 86400_000) })).toString('hex');

  it("refuses a PCK CRL of the other PCK CA than the leaf's issuer", async () => {
    const processorCa = await issueExtraCertificate(forge.pki, { issuer: 'root', commonName: 'Intel SGX PCK Processor CA', ca: true });
    const mixed = { ...forge.collateral, pck_crl: await crlOf(processorCa), pck_crl_issuer_chain: pemChain([processorCa, forge.pki.root]) };
    expect(outcome(mixed).code).toBe(ErrorCode.COLLATERAL_INVALID);
  });

  it('refuses a PCK CRL from another CA of the same name than the one that issued the leaf', async () => {
    const twin = await issueExtraCertificate(forge.pki, { issuer: 'root', commonName: 'Intel SGX PCK Platform CA', ca: true });
    const twinCrl = { ...forge.collateral, pck_crl: await crlOf(twin), pck_crl_issuer_chain: pemChain([twin, forge.pki.root]) };
    expect(outcome(twinCrl).code).toBe(ErrorCode.COLLATERAL_INVALID);
  });
});

describe('real Intel chains (fixtures/real-quotes) meet the role rules', () => {
  it.each(realCaseNames())('%s', (name) => {
    const { quote, collateral, now } = loadRealCase(name);
    const verifier = new QuoteVerifier(INTEL_SGX_ROOT_CA_DER);
    const facts = verifier.checkCollateral(collateral, now);
    expect(verifier.authenticatedPlatform(parseTdxQuote(quote), now)).toEqual({ fmspc: facts.fmspc, ca: facts.pckCrlCa });
  });
});
