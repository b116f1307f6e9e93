/** PEM issuer chains from the collateral → DER certificates, with COLLATERAL_INVALID on bad text. */
import { DomainError, ErrorCode } from '../../../common/errors';
import { PemError, splitPemCertificates } from '../quote/encoding';

export function splitChainPem(pem: string, field: string): Uint8Array[] {
  try {
    return splitPemCertificates(pem);
  } catch (error) {
    if (error instanceof PemError) {
      throw new DomainError(ErrorCode.COLLATERAL_INVALID, `collateral ${field}: ${error.message}`, { field });
    }
    throw error;
  }
}
