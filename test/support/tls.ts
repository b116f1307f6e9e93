/**
 * Real certificates for real TLS in tests: a server certificate for 127.0.0.1/localhost and
 * self-signed client certificates, like the one a VM's initramfs makes at boot.
 */
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCert {
  certPem: string;
  keyPem: string;
  /** SHA-256 hex of the DER SubjectPublicKeyInfo. */
  spkiSha256: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function selfSignedCert(commonName: string, server = false): Promise<TestCert> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false)];
  if (server)
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    );
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    keys,
    signingAlgorithm: ALG,
    extensions,
  });
  const certPem = cert.toString('pem') + '\n';
  const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return { certPem, keyPem, spkiSha256: createHash('sha256').update(spki).digest('hex') };
}

/** Writes a server certificate + key into a fresh temp dir; returns the file paths. */
export async function serverCertFiles(): Promise<{ certFile: string; keyFile: string; cert: TestCert; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-tls-'));
  const cert = await selfSignedCert('bootkey test server', true);
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  fs.writeFileSync(certFile, cert.certPem);
  fs.writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  return { certFile, keyFile, cert, dir };
}

export interface TestCa extends TestCert {
  /** A leaf for 127.0.0.1/localhost issued (signed) by this CA. */
  issue(commonName: string): Promise<TestCert>;
}

function certOf(certPem: string, keyPem: string): TestCert {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return { certPem, keyPem, spkiSha256: createHash('sha256').update(spki).digest('hex') };
}

/**
 * A self-signed CA, as a gen-C VM makes its root CA (presented as its client certificate at
 * /provision), able to issue TLS leaves (the attestation proxy's).
 */
export async function testCa(commonName: string): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 24 * 3600_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const caPem = ca.toString('pem') + '\n';
  const issue = async (leafName: string): Promise<TestCert> => {
    const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      subject: `CN=${leafName}`,
      issuer: ca.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 24 * 3600_000),
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.SubjectAlternativeNameExtension([
          { type: 'ip', value: '127.0.0.1' },
          { type: 'dns', value: 'localhost' },
        ]),
      ],
    });
    return certOf(leaf.toString('pem') + '\n', pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)));
  };
  return { ...certOf(caPem, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))), issue };
}
