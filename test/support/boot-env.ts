/**
 * Everything a boot-path test needs around the real broker: the forge (quotes + collateral in a
 * COLLATERAL_DIR, its root CA as DCAP_ROOT_CA_FILE), an HTTPS server certificate, a registered
 * measurement set with a root passphrase, and a VM that boots: nonce → quote → attestation.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { createForge, Forge } from './forge';
import type { ForgeQuoteOptions } from './forge/quote';
import { httpRequest, HttpResult } from './http';
import { selfSignedCert, serverCertFiles, TestCert } from './tls';

export const BOOT_NOW = new Date('2026-03-01T00:00:00Z');
export const ROOT_PASSPHRASE = 'correct horse battery staple root';

const reg = (byte: string) => byte.repeat(48);
export const IMAGE = {
  name: 'gpu-vm',
  version: '1.0.0',
  mrtd: reg('a1'),
  rtmr0: reg('b0'),
  rtmr1: reg('b1'),
  rtmr2: reg('b2'),
  rtmr3: reg('00'),
};

export interface BootEnv {
  dir: string;
  forge: Forge;
  env: Record<string, string>;
  minerHotkey: string;
  cleanup(): void;
}

export async function ss58Address(seed: string): Promise<string> {
  await cryptoWaitReady();
  return new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(seed).address;
}

/** GPU identifiers the image's measurement set expects (registration checks them). */
export const EXPECTED_GPU = 'nvidia-h100-80gb-hbm3';

export async function createBootEnv(extraEnv: Record<string, string> = {}): Promise<BootEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-boot-'));
  const forge = await createForge({ now: BOOT_NOW });
  const collateralDir = path.join(dir, 'collateral');
  fs.mkdirSync(collateralDir);
  forge.writeCollateral(collateralDir);
  fs.writeFileSync(path.join(dir, 'root-ca.pem'), forge.rootCaPem);
  fs.writeFileSync(path.join(dir, 'root-passphrase'), `${ROOT_PASSPHRASE}\n`, { mode: 0o600 });
  const rtmrs = (indent: string, withRtmr3: boolean) => [
    `${indent}rtmr0: ${IMAGE.rtmr0}`,
    `${indent}rtmr1: ${IMAGE.rtmr1}`,
    `${indent}rtmr2: ${IMAGE.rtmr2}`,
    ...(withRtmr3 ? [`${indent}rtmr3: ${IMAGE.rtmr3}`] : []),
  ];
  const set = (name: string, version: string, mrtd: string, extra: string[]) => [
    `  - name: ${name}`,
    `    version: ${version}`,
    `    mrtd: ${mrtd}`,
    '    boot_rtmrs:',
    ...rtmrs('      ', false),
    '    runtime_rtmrs:',
    ...rtmrs('      ', true),
    ...extra,
  ];
  fs.writeFileSync(
    path.join(dir, 'measurements.yaml'),
    [
      'measurements:',
      ...set(IMAGE.name, IMAGE.version, IMAGE.mrtd.toUpperCase(), [
        `    expected_gpus: [${EXPECTED_GPU.toUpperCase()}]`,
        '    root_passphrase_file: root-passphrase',
      ]),
      // Matches like the image but holds no root passphrase.
      ...set('keyless-image', '2', reg('c1'), []),
      '',
    ].join('\n'),
  );
  const tls = await serverCertFiles();
  return {
    dir,
    forge,
    minerHotkey: await ss58Address('//bootkey-test-miner'),
    env: {
      TLS_CERT_FILE: tls.certFile,
      TLS_KEY_FILE: tls.keyFile,
      COLLATERAL_DIR: collateralDir,
      DCAP_ROOT_CA_FILE: path.join(dir, 'root-ca.pem'),
      MEASUREMENTS_FILE: path.join(dir, 'measurements.yaml'),
      RATE_LIMIT_ANON_PER_MIN: '0',
      // A test file signs far more than a miner would; the limit has its own test (hotkey-auth).
      RATE_LIMIT_SIGNED_PER_MIN: '0',
      ...extraEnv,
    },
    cleanup: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(tls.dir, { recursive: true, force: true });
    },
  };
}

/** A booting VM: its ephemeral client certificate, and the steps of the initramfs. */
export class TestVm {
  constructor(
    readonly baseUrl: string,
    readonly forge: Forge,
    readonly cert: TestCert,
    readonly hotkey: string,
    readonly vmName: string,
  ) {}

  static async create(baseUrl: string, forge: Forge, hotkey: string, vmName = 'vm-001'): Promise<TestVm> {
    return new TestVm(baseUrl, forge, await selfSignedCert(`${vmName} ephemeral`), hotkey, vmName);
  }

  async nonce(localAddress?: string): Promise<string> {
    const res = await httpRequest<{ nonce: string }>(`${this.baseUrl}/servers/nonce`, { localAddress });
    if (res.status !== 200) throw new Error(`nonce: ${res.status} ${res.text}`);
    return res.json.nonce;
  }

  /** A quote as the real TD would make it: REPORTDATA = nonce || SHA-256(this VM's SPKI). */
  quote(nonce: string, options: ForgeQuoteOptions = {}): Buffer {
    return this.forge.quote({
      reportData: Buffer.concat([Buffer.from(nonce, 'hex'), Buffer.from(this.cert.spkiSha256, 'hex')]),
      mrtd: Buffer.from(IMAGE.mrtd, 'hex'),
      rtmrs: {
        rtmr0: Buffer.from(IMAGE.rtmr0, 'hex'),
        rtmr1: Buffer.from(IMAGE.rtmr1, 'hex'),
        rtmr2: Buffer.from(IMAGE.rtmr2, 'hex'),
        rtmr3: Buffer.from(IMAGE.rtmr3, 'hex'),
      },
      ...options,
    });
  }

  attest(nonce: string, quote: Buffer, options: { cert?: TestCert | null; localAddress?: string; headers?: Record<string, string> } = {}) {
    return httpRequest<{ key: string; boot_token: string; code?: string }>(`${this.baseUrl}/servers/boot/attestation`, {
      headers: { 'x-chutes-nonce': nonce, ...(options.headers ?? {}) },
      body: { quote: quote.toString('base64'), miner_hotkey: this.hotkey, vm_name: this.vmName },
      clientCert: options.cert === null ? undefined : (options.cert ?? this.cert),
      localAddress: options.localAddress,
    });
  }

  /** Posts an arbitrary body (malformed-input tests). */
  attestWithBody(nonce: string, body: unknown) {
    return httpRequest<{ code?: string }>(`${this.baseUrl}/servers/boot/attestation`, { headers: { 'x-chutes-nonce': nonce }, body, clientCert: this.cert });
  }

  /** Posts a `quote` string as given (not-base64 tests). */
  attestRaw(nonce: string, quote: string) {
    return httpRequest<{ key: string; boot_token: string; code?: string }>(`${this.baseUrl}/servers/boot/attestation`, {
      headers: { 'x-chutes-nonce': nonce },
      body: { quote, miner_hotkey: this.hotkey, vm_name: this.vmName },
      clientCert: this.cert,
    });
  }

  /** nonce → quote → attestation, the happy path. */
  async boot(options: ForgeQuoteOptions = {}): Promise<HttpResult<{ key: string; boot_token: string; code?: string }>> {
    const nonce = await this.nonce();
    return this.attest(nonce, this.quote(nonce, options));
  }

  sync(token: string, volumes: string[], rekey: string[] = [], hotkey = this.hotkey) {
    return httpRequest<Record<string, string>>(`${this.baseUrl}/servers/${this.vmName}/luks`, {
      headers: { 'x-chutes-hotkey': hotkey, 'x-boot-token': token },
      body: { volumes, rekey },
      clientCert: this.cert,
    });
  }

  legacyStorage(token: string | undefined, hotkey = this.hotkey) {
    return httpRequest<{ passphrase: string; code?: string }>(`${this.baseUrl}/servers/${this.vmName}/luks?hotkey=${hotkey}`, {
      headers: token === undefined ? {} : { 'x-boot-token': token },
      clientCert: this.cert,
    });
  }
}
