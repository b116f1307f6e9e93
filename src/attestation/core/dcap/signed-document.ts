/**
 * Intel-signed collateral documents (TCB info, QE identity): a JSON text signed byte-for-byte
 * (ECDSA-P256, raw r||s) by Intel's TCB signing certificate, issued directly by the pinned root.
 * Being under the root is not enough: a PCK certificate (one per platform, its key held by that
 * platform) or a PCK CA must never vouch for TCB levels — see verifyTcbSigningChain.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { DomainError, ErrorCode } from '../../../common/errors';
import { fromHexStrict } from '../quote/encoding';
import { TrustAnchor, VerifiedChain, verifyTcbSigningChain } from './cert-chain';
import { splitChainPem } from './pem-chain';

export function verifySignedDocument(
  input: { text: string; signatureHex: string; issuerChainPem: string },
  anchor: TrustAnchor,
  documentName: 'tcb_info' | 'qe_identity',
): VerifiedChain {
  const chainField = `${documentName}_issuer_chain`;
  const chain = verifyTcbSigningChain(splitChainPem(input.issuerChainPem, chainField), anchor, chainField);
  const signature = fromHexStrict(input.signatureHex);
  if (!signature || signature.length !== 64) {
    throw new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${documentName}_signature is not 64 bytes of hex`, {
      step: documentName,
    });
  }
  // The signature covers the exact UTF-8 bytes of the JSON text as Intel served it, so the text is
  // never re-serialised before checking.
  const signedBytes = Buffer.from(input.text, 'utf8');
  if (!cryptoVerify('sha256', signedBytes, { key: chain.leafKey, dsaEncoding: 'ieee-p1363' }, signature)) {
    throw new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${documentName} signature does not verify`, {
      step: documentName,
    });
  }
  return chain;
}
