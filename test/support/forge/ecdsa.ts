/**
 * ECDSA P-256 helpers in the encodings DCAP uses: raw 64-byte x||y public keys and raw 64-byte
 * r||s signatures (IEEE P1363), never DER. Keys are node KeyObjects; @peculiar/x509 needs WebCrypto
 * keys, so `toWebCryptoKeyPair` converts.
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign, webcrypto } from 'node:crypto';

const P256_CURVE = 'prime256v1';
/** Order of the P-256 group: private scalars live in [1, n-1]. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const WEBCRYPTO_ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export function generateP256Key(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: P256_CURVE }).privateKey;
}

/**
 * A P-256 private key derived from a seed string, so a test PKI can be reproduced exactly
 * (same keys, same certificates' public keys) from the same seed in another process.
 */
export function p256KeyFromSeed(seed: string): KeyObject {
  const digest = createHash('sha256').update(`bootkey-forge-key|${seed}`).digest('hex');
  const scalar = (BigInt(`0x${digest}`) % (P256_ORDER - 1n)) + 1n;
  const d = Buffer.from(scalar.toString(16).padStart(64, '0'), 'hex');
  const ecdh = createECDH(P256_CURVE);
  ecdh.setPrivateKey(d);
  const point = ecdh.getPublicKey(); // 0x04 || x || y
  return createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: d.toString('base64url'),
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** The 64-byte x||y public key as it appears in a quote's auth data. */
export function rawP256PublicKey(key: KeyObject): Buffer {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new Error('rawP256PublicKey: not an EC key');
  return Buffer.concat([Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
}

/** ECDSA-SHA256 signature as raw r||s (64 bytes), the DCAP wire encoding. */
export function signP256Raw(key: KeyObject, data: Buffer): Buffer {
  return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

export async function toWebCryptoKeyPair(key: KeyObject): Promise<webcrypto.CryptoKeyPair> {
  const privateDer = key.export({ format: 'der', type: 'pkcs8' });
  const publicDer = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', privateDer, WEBCRYPTO_ECDSA_P256, true, ['sign']),
    webcrypto.subtle.importKey('spki', publicDer, WEBCRYPTO_ECDSA_P256, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}
