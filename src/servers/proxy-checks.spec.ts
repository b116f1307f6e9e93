import { X509Certificate } from 'node:crypto';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { testKeypair } from '../../test/support/hotkey';
import { selfSignedCert, testCa, TestCa } from '../../test/support/tls';
import { teeProofHeaders } from '../../test/support/fake-attestation-service';
import { checkLeafIssuedBy, ResponseProof, verifyResponseProof } from './proxy-checks';

const leafOf = (pem: string) => new X509Certificate(pem);

describe('checkLeafIssuedBy', () => {
  let ca: TestCa;
  let other: TestCa;

  beforeAll(async () => {
    ca = await testCa('vm root ca');
    other = await testCa('another vm root ca');
  });

  it('accepts a leaf the CA issued, and checks nothing without a recorded CA', async () => {
    const leaf = leafOf((await ca.issue('proxy')).certPem);
    expect(checkLeafIssuedBy(leaf, ca.certPem)).toBe('ok');
    expect(checkLeafIssuedBy(leafOf((await selfSignedCert('anything')).certPem), null)).toBe('not_recorded');
  });

  it('refuses a leaf of another CA, a self-signed leaf, and the CA itself presented as the leaf', async () => {
    expect(checkLeafIssuedBy(leafOf((await other.issue('proxy')).certPem), ca.certPem)).toBe('issuer_mismatch');
    expect(checkLeafIssuedBy(leafOf((await selfSignedCert('proxy', true)).certPem), ca.certPem)).toBe('self_signed');
    expect(checkLeafIssuedBy(leafOf(ca.certPem), ca.certPem)).toBe('self_signed');
  });

  it('refuses a leaf naming the CA as issuer but signed by another key (same subject, other CA)', async () => {
    const impostor = await testCa('vm root ca'); // same subject name, its own key
    expect(checkLeafIssuedBy(leafOf((await impostor.issue('proxy')).certPem), ca.certPem)).toBe('signature_invalid');
  });

  it('says so when the recorded CA is not a certificate', async () => {
    expect(checkLeafIssuedBy(leafOf((await ca.issue('proxy')).certPem), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toBe(
      'ca_unreadable',
    );
  });
});

describe('verifyResponseProof', () => {
  const now = 1_800_000_000;
  const proofOf = (headers: Record<string, string>): ResponseProof => ({
    hotkey: headers['X-Chutes-Hotkey'],
    nonce: headers['X-Chutes-Nonce'],
    signature: headers['X-Chutes-Signature'],
  });

  beforeAll(() => cryptoWaitReady());

  it('proves the signing hotkey (canonical ss58) within 600 s either way', async () => {
    const miner = await testKeypair('//proof-miner');
    expect(verifyResponseProof(proofOf(teeProofHeaders(miner, now - 600)), now)).toEqual({ verdict: 'ok', hotkey: miner.address });
    expect(verifyResponseProof(proofOf(teeProofHeaders(miner, now + 600)), now)).toEqual({ verdict: 'ok', hotkey: miner.address });
    const with0x = proofOf(teeProofHeaders(miner, now));
    expect(verifyResponseProof({ ...with0x, signature: `0x${with0x.signature}` }, now).verdict).toBe('ok');
  });

  it('treats absent, malformed, stale and wrongly signed proofs as no proof, saying which', async () => {
    const miner = await testKeypair('//proof-miner');
    const stranger = await testKeypair('//proof-stranger');
    const good = proofOf(teeProofHeaders(miner, now));
    expect(verifyResponseProof(null, now)).toEqual({ verdict: 'absent' });
    expect(verifyResponseProof({ ...good, nonce: '' }, now)).toEqual({ verdict: 'malformed' });
    expect(verifyResponseProof({ ...good, nonce: `${now}.5` }, now)).toEqual({ verdict: 'malformed' });
    expect(verifyResponseProof({ ...good, hotkey: 'not-an-address' }, now)).toEqual({ verdict: 'malformed' });
    expect(verifyResponseProof({ ...good, signature: 'zz' }, now)).toEqual({ verdict: 'malformed' });
    expect(verifyResponseProof(proofOf(teeProofHeaders(miner, now - 601)), now)).toEqual({ verdict: 'stale' });
    expect(verifyResponseProof(proofOf(teeProofHeaders(miner, now + 601)), now)).toEqual({ verdict: 'stale' });
    // Another key's signature under the miner's address; the purpose word is part of the message.
    expect(verifyResponseProof({ ...good, signature: proofOf(teeProofHeaders(stranger, now)).signature }, now)).toEqual({ verdict: 'invalid_signature' });
    const attest = Buffer.from(miner.sign(`${miner.address}:${now}:attest`)).toString('hex');
    expect(verifyResponseProof({ ...good, signature: attest }, now)).toEqual({ verdict: 'invalid_signature' });
  });
});
