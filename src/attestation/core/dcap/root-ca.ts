/**
 * The pinned trust anchor: Intel SGX Root CA (the root of every PCK, TCB-signing and CRL-signing
 * certificate for SGX and TDX), and loadRootCa for the DCAP_ROOT_CA_FILE override (tests only).
 */
import { DomainError, ErrorCode } from '../../../common/errors';
import { PemError, splitPemCertificates } from '../quote/encoding';

/** Intel SGX Root CA, valid 2018-05-21 … 2049-12-31. SHA-256 of its DER is INTEL_SGX_ROOT_CA_SHA256. */
export const INTEL_SGX_ROOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
-----END CERTIFICATE-----
`;

/** Lowercase hex SHA-256 of the DER of INTEL_SGX_ROOT_CA_PEM (Intel's published fingerprint). */
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

export const INTEL_SGX_ROOT_CA_DER: Uint8Array = loadRootCa(INTEL_SGX_ROOT_CA_PEM);

/**
 * PEM text (or its bytes) or DER bytes → DER. A PEM must hold exactly one certificate: a trust
 * anchor file with several would make "which one is pinned" ambiguous.
 */
export function loadRootCa(pemOrDer: Uint8Array | string): Uint8Array {
  const asText = typeof pemOrDer === 'string' ? pemOrDer : looksLikePem(pemOrDer) ? Buffer.from(pemOrDer).toString('latin1') : null;
  if (asText === null) {
    if (pemOrDer.length === 0) throw invalidRoot('root CA is empty');
    return new Uint8Array(pemOrDer as Uint8Array);
  }
  let certificates: Uint8Array[];
  try {
    certificates = splitPemCertificates(asText);
  } catch (error) {
    if (error instanceof PemError) throw invalidRoot(`root CA PEM: ${error.message}`);
    throw error;
  }
  const [only] = certificates;
  if (!only || certificates.length !== 1) throw invalidRoot(`root CA PEM holds ${certificates.length} certificates, expected 1`);
  return only;
}

/** DER certificates start with SEQUENCE (0x30); PEM with "-----BEGIN" possibly after whitespace. */
function looksLikePem(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] !== 0x30;
}

function invalidRoot(message: string): DomainError {
  return new DomainError(ErrorCode.PCK_CHAIN_INVALID, message);
}
