/**
 * The `bootkey` CLI as people run it: a child process against the real broker (HTTPS, real
 * database) and a fake VM attestation service answering forged quotes bound to its TLS key.
 * An admin adds a measurement set from YAML; a miner registers a server (GPU list from a file,
 * then from a fake nvidia-smi), lists it, reads its attestation status before and after a
 * runtime attestation, renames and removes it (keys kept); a VM's key generations are listed,
 * restored and shredded, KEKs rotated and the key-release trail read; then the failure classes
 * and their exit codes.
 *
 * Everything runs on the real clock: the CLI signs with the time of day, so the forge builds its
 * collateral around now instead of a fixed date.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { startTestApp, TestApp } from '../support/app';
import { TestVm } from '../support/boot-env';
import { compileCli, removeCompiledCli, runBootkey, RunOptions } from '../support/cli-runner';
import { testDatabase } from '../support/database';
import { FakeAttestationService } from '../support/fake-attestation-service';
import { createForge, Forge } from '../support/forge';
import { signedRequest } from '../support/signed';
import { selfSignedCert, serverCertFiles } from '../support/tls';

const MINER_SEED = '0x' + '6d'.repeat(32);
const ADMIN_SEED = '0x' + 'ad'.repeat(32);
const ROOT_PASSPHRASE = 'cli e2e root passphrase';
const hex = (byte: string) => byte.repeat(48);
const IMAGE = { mrtd: hex('a1'), rtmr0: hex('b0'), rtmr1: hex('b1'), rtmr2: hex('b2'), rtmr3: hex('00') };

const db = testDatabase('cli');
let dir: string;
let forge: Forge;
let fake: FakeAttestationService;
let app: TestApp;
let tlsDir: string;
let caFile: string;
let miner: ReturnType<Keyring['addFromSeed']>;
let admin: ReturnType<Keyring['addFromSeed']>;

/** The CLI as the miner (or `as: 'admin'`), against the test broker over HTTPS with its CA. */
function bootkey(args: string[], options: RunOptions & { as?: 'miner' | 'admin' | 'nobody' } = {}) {
  const seed = options.as === 'admin' ? ADMIN_SEED : options.as === 'nobody' ? undefined : MINER_SEED;
  return runBootkey(args, {
    ...options,
    env: { BOOTKEY_URL: app.baseUrl, ...(seed ? { BOOTKEY_HOTKEY_SEED: seed } : {}), ...(options.env ?? {}) },
  }).then((result) => {
    // Whatever happened, no seed ever reaches the output.
    for (const secret of [MINER_SEED, ADMIN_SEED]) expect(result.stdout + result.stderr).not.toContain(secret.slice(2, 18));
    return result;
  });
}

function writeFile(name: string, content: string, mode = 0o644): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content, { mode });
  return file;
}

const gpuFile = (uuid: string) =>
  writeFile(`${uuid}.json`, JSON.stringify([{ uuid, name: 'NVIDIA H100 80GB HBM3', memory: 85520809984, clock_rate: 1980000, device_index: 0 }]));

beforeAll(async () => {
  compileCli();
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  miner = keyring.addFromSeed(Buffer.from(MINER_SEED.slice(2), 'hex'));
  admin = keyring.addFromSeed(Buffer.from(ADMIN_SEED.slice(2), 'hex'));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-cli-e2e-'));
  forge = await createForge({ now: new Date() });
  const collateralDir = path.join(dir, 'collateral');
  fs.mkdirSync(collateralDir);
  forge.writeCollateral(collateralDir);
  fake = await new FakeAttestationService(forge).start();
  const reg = (h: string) => Buffer.from(h, 'hex');
  fake.quoteOptions = { mrtd: reg(IMAGE.mrtd), rtmrs: { rtmr0: reg(IMAGE.rtmr0), rtmr1: reg(IMAGE.rtmr1), rtmr2: reg(IMAGE.rtmr2), rtmr3: reg(IMAGE.rtmr3) } };
  const tls = await serverCertFiles();
  tlsDir = tls.dir;
  caFile = tls.certFile; // self-signed: the certificate is its own CA
  app = await startTestApp({
    database: db.target,
    env: {
      TLS_CERT_FILE: tls.certFile,
      TLS_KEY_FILE: tls.keyFile,
      COLLATERAL_DIR: collateralDir,
      DCAP_ROOT_CA_FILE: writeFile('root-ca.pem', forge.rootCaPem),
      ADMIN_HOTKEYS: admin.address,
      ALLOW_PRIVATE_HOSTS: 'true',
      ATTESTATION_PORT: String(fake.port),
      GPU_EVIDENCE: 'skip',
      RATE_LIMIT_ANON_PER_MIN: '0',
    },
  });
});

afterAll(async () => {
  await app?.close();
  await fake?.stop();
  await db.drop();
  removeCompiledCli();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (tlsDir) fs.rmSync(tlsDir, { recursive: true, force: true });
});

describe('bootkey CLI against a real broker', () => {
  it('refuses an https broker it cannot trust (exit 3), and works with --ca-file', async () => {
    const untrusted = await bootkey(['servers', 'list']);
    expect(untrusted.code).toBe(3);
    expect(untrusted.stderr).toMatch(/TLS certificate is not trusted[\s\S]*what to do: pass the broker's CA with --ca-file/);
    expect((await bootkey(['--ca-file', caFile, 'servers', 'list'])).code).toBe(0);
  });

  it('admin: measurements add (a tee_measurements.yaml list with a root passphrase file) → list → show', async () => {
    writeFile('root-passphrase', `${ROOT_PASSPHRASE}\n`, 0o600);
    const yaml = [
      'measurements:',
      '  - name: gpu-vm',
      '    version: 1.0.0',
      `    mrtd: ${IMAGE.mrtd.toUpperCase()}`,
      '    boot_rtmrs:',
      ...['rtmr0', 'rtmr1', 'rtmr2'].map((r) => `      ${r}: ${IMAGE[r as keyof typeof IMAGE]}`),
      '    runtime_rtmrs:',
      ...['rtmr0', 'rtmr1', 'rtmr2', 'rtmr3'].map((r) => `      ${r}: ${IMAGE[r as keyof typeof IMAGE]}`),
      '    expected_gpus: [H100]',
      '    gpu_count: 1',
      '    root_passphrase_file: root-passphrase',
      '',
    ].join('\n');
    const file = writeFile('tee_measurements.yaml', yaml);
    const added = await bootkey(['--ca-file', caFile, 'measurements', 'add', '-f', file], { as: 'admin' });
    expect([added.code, added.stdout, added.stderr]).toEqual([0, 'added gpu-vm 1.0.0\n', '']);

    const list = await bootkey(['--ca-file', caFile, 'measurements', 'list'], { as: 'admin' });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+STATUS\s+MRTD\s+GPUS\s+GPU_COUNT\s+ROOT_KEY\s+CREATED$/);
    expect(list.stdout.split('\n')[1]).toMatch(/^gpu-vm\s+1\.0\.0\s+active\s+a1a1a1a1a1a1a1a1…\s+h100\s+1\s+yes\s+\d{4}-/);

    const show = await bootkey(['--ca-file', caFile, '--json', 'measurements', 'show', '1.0.0'], { as: 'admin' });
    const set: unknown = JSON.parse(show.stdout);
    expect(set).toMatchObject({
      name: 'gpu-vm',
      version: '1.0.0',
      mrtd: IMAGE.mrtd,
      runtime_rtmrs: { rtmr3: IMAGE.rtmr3 },
      gpu_count: 1,
      has_root_passphrase: true,
    });
    expect(show.stdout).not.toContain(ROOT_PASSPHRASE);

    const again = await bootkey(['--ca-file', caFile, 'measurements', 'add', '-f', file], { as: 'admin' });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(MEASUREMENT_SET_EXISTS, HTTP 409\)\n {2}what to do: A measurement set with this name and version already exists/);
    const skipped = await bootkey(['--ca-file', caFile, 'measurements', 'add', '-f', file, '--skip-existing'], { as: 'admin' });
    expect([skipped.code, skipped.stderr]).toEqual([0, 'skipped gpu-vm 1.0.0: the broker already has it\n']);
  });

  it('miner: register (GPU list from a file) → list → show → status', async () => {
    const registered = await bootkey([
      '--ca-file',
      caFile,
      'servers',
      'register',
      '--host',
      '127.0.0.1',
      '--id',
      'srv-cli-1',
      '--name',
      'vm-cli-1',
      '--gpus-file',
      gpuFile('GPU-cli-1'),
    ]);
    expect(registered.code).toBe(0);
    expect(registered.stdout).toMatch(/srv-cli-1/);
    expect(registered.stderr).toBe('next: bootkey servers status srv-cli-1\n'); // no spinner: stderr is not a terminal
    expect(fake.nonces.at(-1)).toMatch(/^[0-9a-f]{64}$/);

    const list = await bootkey(['--ca-file', caFile, 'servers', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+HOST\s+GPUS\s+MEASUREMENT\s+CREATED$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^srv-cli-1\s+vm-cli-1\s+127\.0\.0\.1\s+1\s+gpu-vm 1\.0\.0\s+\d{4}-/)]);

    const json = JSON.parse((await bootkey(['--ca-file', caFile, '--json', 'servers', 'list'])).stdout) as { items: unknown[] };
    expect(json.items[0]).toMatchObject({
      server_id: 'srv-cli-1',
      name: 'vm-cli-1',
      gpus: [{ uuid: 'GPU-cli-1', gpu_identifier: 'h100', verification_host: '127.0.0.1', verification_port: 30443 }],
    });

    const show = await bootkey(['--ca-file', caFile, 'servers', 'show', 'srv-cli-1']);
    expect(show.stdout).toMatch(/^server_id:\s+srv-cli-1$/m);
    expect(show.stdout).toMatch(/^0\s+GPU-cli-1\s+NVIDIA H100 80GB HBM3\s+h100$/m);

    const status = await bootkey(['--ca-file', caFile, 'servers', 'status', 'srv-cli-1']);
    // The registration's own check counts as the first verified attestation.
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^server: {6}srv-cli-1\nname: {8}vm-cli-1\nattestation: verified\nlast attestation:\n( {2}.*\n)* {2}measurement_version: +1\.0\.0\n/,
    );
  });

  it('status after the server attests at runtime', async () => {
    const cert = await selfSignedCert('vm-cli-1 runtime key');
    const call = <T>(method: string, route: string, body?: unknown) =>
      signedRequest<T>(miner, new Date(), method, `${app.baseUrl}${route}`, body, { clientCert: cert });
    const nonce = await call<{ nonce: string }>('GET', '/servers/srv-cli-1/nonce');
    expect(nonce.status).toBe(200);
    const reportData = Buffer.concat([Buffer.from(nonce.json.nonce, 'hex'), Buffer.from(cert.spkiSha256, 'hex')]);
    const attested = await call('POST', '/servers/srv-cli-1/attestation', { quote: forge.quote({ ...fake.quoteOptions, reportData }).toString('base64') });
    expect(attested.status).toBe(200);

    const status = await bootkey(['--ca-file', caFile, 'servers', 'status', 'srv-cli-1']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^attestation: verified\nlast attestation:\n {2}attestation_id: +\S+\n {2}created_at: +\d{4}-.*\n {2}status: +verified\n/m);
    const json: unknown = JSON.parse((await bootkey(['--ca-file', caFile, '--json', 'servers', 'status', 'srv-cli-1'])).stdout);
    expect(json).toMatchObject({ server_id: 'srv-cli-1', attestation_status: 'verified', last_attestation: { status: 'verified' } });
  });

  it('register discovers GPUs with nvidia-smi when no --gpus-file is given', async () => {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'nvidia-smi'), '#!/bin/sh\necho "GPU-smi-0, NVIDIA H100 80GB HBM3, 81559, 1980, 0, 9.0, Enabled"\n', { mode: 0o755 });
    const registered = await bootkey(['--ca-file', caFile, 'servers', 'register', '--host', '127.0.0.1', '--id', 'srv-cli-2', '--name', 'vm-cli-2'], {
      pathPrefix: [bin],
    });
    expect(registered.code).toBe(0);
    const show = JSON.parse((await bootkey(['--ca-file', caFile, '--json', 'servers', 'show', 'srv-cli-2'])).stdout) as { gpus: unknown };
    expect(show.gpus).toEqual([
      expect.objectContaining({ uuid: 'GPU-smi-0', name: 'NVIDIA H100 80GB HBM3', memory: 81559 * 1024 * 1024, device_index: 0, gpu_identifier: 'h100' }),
    ]);

    const none = await bootkey(['--ca-file', caFile, 'servers', 'register', '--host', '127.0.0.1', '--id', 'srv-cli-3']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/nvidia-smi is not on PATH; pass --gpus-file FILE/);
  });

  it('a refused registration exits 1 with the code and what to do (and the error body with --json)', async () => {
    const taken = await bootkey([
      '--ca-file',
      caFile,
      'servers',
      'register',
      '--host',
      '127.0.0.1',
      '--id',
      'srv-cli-9',
      '--name',
      'vm-cli-9',
      '--gpus-file',
      gpuFile('GPU-cli-1'),
    ]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(
      /^bootkey: the broker refused: .* \(GPU_ALREADY_REGISTERED, HTTP 409\)\n {2}what to do: One of these GPUs \(by uuid\) is already registered/,
    );

    const drifted = await bootkey([
      '--ca-file',
      caFile,
      '--json',
      'servers',
      'register',
      '--host',
      '127.0.0.1',
      '--id',
      'srv-cli-9',
      '--gpus-file',
      gpuFile('GPU-cli-9'),
      '--gpu-identifier',
      'a100',
    ]);
    expect(drifted.code).toBe(1);
    expect(JSON.parse(drifted.stdout)).toMatchObject({ statusCode: 403, code: 'GPU_MISMATCH' });
    expect(drifted.stderr).toMatch(/what to do: The GPUs do not fit the matched measurement set/);

    const notAdmin = await bootkey(['--ca-file', caFile, 'measurements', 'list']);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toMatch(/\(NOT_ADMIN, HTTP 403\)\n {2}what to do: Your hotkey is not one of the broker's ADMIN_HOTKEYS/);
  });

  it('rename → remove (keys kept; --id, --destroy-keys, --yes) → list is empty', async () => {
    const renamed = await bootkey(['--ca-file', caFile, 'servers', 'rename', 'srv-cli-1', 'vm-cli-renamed']);
    expect([renamed.code, renamed.stdout]).toEqual([0, 'renamed srv-cli-1 to vm-cli-renamed\n']);
    const taken = await bootkey(['--ca-file', caFile, 'servers', 'rename', 'srv-cli-2', 'vm-cli-renamed']);
    expect([taken.code, taken.stderr]).toEqual([1, expect.stringMatching(/SERVER_NAME_TAKEN, HTTP 409/)]);

    const unconfirmed = await bootkey(['--ca-file', caFile, 'servers', 'remove', 'vm-cli-renamed']);
    expect([unconfirmed.code, unconfirmed.stderr]).toEqual([2, expect.stringMatching(/pass --yes to confirm/)]);
    const kept = await bootkey(['--ca-file', caFile, 'servers', 'remove', 'vm-cli-renamed', '--yes']);
    expect([kept.code, kept.stdout]).toEqual([0, 'removed vm-cli-renamed; volume keys of vm-cli-1 kept (bootkey keys list vm-cli-1)\n']);
    const twice = await bootkey(['--ca-file', caFile, 'servers', 'remove', 'srv-cli-2', '--id', 'srv-cli-2', '--yes']);
    expect([twice.code, twice.stderr]).toEqual([2, expect.stringMatching(/name the server once/)]);
    const shredded = await bootkey(['--ca-file', caFile, 'servers', 'remove', '--id', 'srv-cli-2', '--destroy-keys', '--yes']);
    expect([shredded.code, shredded.stdout]).toEqual([0, 'removed srv-cli-2; no volume keys were stored for vm-cli-2\n']);
    const gone = await bootkey(['--ca-file', caFile, 'servers', 'status', 'srv-cli-1']);
    expect([gone.code, gone.stderr]).toEqual([
      1,
      expect.stringMatching(/SERVER_NOT_FOUND, HTTP 404\)\n {2}what to do: Your hotkey has no server by that id or name/),
    ]);
    const list = await bootkey(['--ca-file', caFile, 'servers', 'list']);
    expect([list.code, list.stdout]).toEqual([0, 'no servers are registered with this hotkey\n']);
  });

  it("keys: a miner lists, restores and shreds its VM's key generations; an admin reads the key trail, KEK status and rotates", async () => {
    const vm = await TestVm.create(app.baseUrl, forge, miner.address, 'vm-cli-keys');
    const boot = async () => (await vm.boot()).json.boot_token;
    const original = await vm.sync(await boot(), ['storage', 'tdx-cache'], ['storage', 'tdx-cache']);
    expect(original.status).toBe(200);
    expect((await vm.sync(await boot(), ['storage', 'tdx-cache'], ['storage'])).status).toBe(200);

    const list = await bootkey(['--ca-file', caFile, 'keys', 'list', 'vm-cli-keys']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VOLUME\s+GENERATION\s+STATE\s+CREATED\s+ISSUED_BESIDE\s+CONFIRMED\s+CLIENT_IP\s+ATTESTATION$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 3))).toEqual([
      ['storage', '2', 'current'],
      ['storage', '1', 'superseded'],
      ['tdx-cache', '1', 'current'],
    ]);
    expect(list.stderr).toBe('restore one as current: bootkey keys restore vm-cli-keys VOLUME GENERATION\n');
    for (const secret of Object.values(original.json)) expect(list.stdout).not.toContain(secret);

    const restored = await bootkey(['--ca-file', caFile, 'keys', 'restore', 'vm-cli-keys', 'storage', '1']);
    expect([restored.code, restored.stdout]).toEqual([0, 'vm-cli-keys storage: generation 1 is current (generation 2 is kept, superseded)\n']);
    expect((await vm.sync(await boot(), ['storage', 'tdx-cache'])).json).toEqual(original.json);
    const json = JSON.parse((await bootkey(['--ca-file', caFile, '--json', 'keys', 'list', 'vm-cli-keys'])).stdout);
    expect(json).toMatchObject({
      vm_name: 'vm-cli-keys',
      miner_hotkey: miner.address,
      volumes: [
        {
          volume: 'storage',
          generations: [
            { generation: 2, state: 'superseded' },
            { generation: 1, state: 'current' },
          ],
        },
        { volume: 'tdx-cache' },
      ],
    });

    const asAdmin = await bootkey(['--ca-file', caFile, '--json', 'keys', 'list', 'vm-cli-keys', '--miner', miner.address], { as: 'admin' });
    expect([asAdmin.code, JSON.parse(asAdmin.stdout)]).toEqual([0, json]);
    const notYours = await bootkey(['--ca-file', caFile, 'keys', 'list', 'vm-cli-keys', '--miner', admin.address]);
    expect([notYours.code, notYours.stderr]).toEqual([1, expect.stringMatching(/\(NOT_ADMIN, HTTP 403\)/)]);

    const trail = await bootkey(['--ca-file', caFile, 'audit', '--kind', 'keys', '--event', 'replaced', '--vm-name', 'vm-cli-keys'], { as: 'admin' });
    expect(trail.code).toBe(0);
    expect(trail.stdout.split('\n')[0]).toMatch(/^TIME\s+EVENT\s+HOTKEY\s+VM\s+IP\s+VOLUMES\s+DETAIL$/);
    expect(trail.stdout).toMatch(/^\S+\s+replaced\s+\S+\s+vm-cli-keys\s+127\.0\.0\.1\s+storage\s+cause=restore generation=1 replaced=2 by=miner$/m);
    expect(trail.stdout).toMatch(/^\S+\s+replaced\s+\S+\s+vm-cli-keys\s+127\.0\.0\.1\s+storage\s+cause=rekey generation=2 replaced=1$/m);
    const badEvent = await bootkey(['--ca-file', caFile, 'audit', '--event', 'replaced'], { as: 'admin' });
    expect([badEvent.code, badEvent.stderr]).toEqual([2, 'bootkey: --event needs --kind keys\n']);

    const status = await bootkey(['--ca-file', caFile, 'keys', 'status'], { as: 'admin' });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^active KEK: local\nKEK\s+ACTIVE\s+IN_RING\s+ROWS\s+TABLES\nlocal\s+yes\s+yes\s+4\s+luks_volumes=3 measurement_sets=1\n$/);
    const rotated = await bootkey(['--ca-file', caFile, 'keys', 'rotate'], { as: 'admin' });
    expect([rotated.code, rotated.stdout]).toEqual([0, 'kek_id:    local\nrewrapped: 0\nskipped:   0\nremaining: 0\n']);
    const notAdmin = await bootkey(['--ca-file', caFile, 'keys', 'status']);
    expect([notAdmin.code, notAdmin.stderr]).toEqual([1, expect.stringMatching(/\(NOT_ADMIN, HTTP 403\)/)]);

    const unconfirmed = await bootkey(['--ca-file', caFile, 'keys', 'shred', 'vm-cli-keys']);
    expect([unconfirmed.code, unconfirmed.stderr]).toEqual([2, expect.stringMatching(/pass --yes to confirm/)]);
    const shredded = await bootkey(['--ca-file', caFile, 'keys', 'shred', 'vm-cli-keys', '--yes']);
    expect([shredded.code, shredded.stdout]).toEqual([0, 'vm-cli-keys: 3 key generations shredded\n']);
    const gone = await bootkey(['--ca-file', caFile, 'keys', 'restore', 'vm-cli-keys', 'storage', '1']);
    expect([gone.code, gone.stderr]).toEqual([
      1,
      expect.stringMatching(/\(KEY_GENERATION_NOT_FOUND, HTTP 404\)\n {2}what to do: That VM has no such volume key generation/),
    ]);
    expect((await bootkey(['--ca-file', caFile, 'keys', 'list', 'vm-cli-keys'])).stdout).toBe('no volume keys are kept for vm-cli-keys\n');
  });

  it('quote parse and verify through the public tools, from raw bytes and from base64 (no hotkey needed)', async () => {
    const quote = forge.quote({ ...fake.quoteOptions });
    const raw = writeFile('quote.bin', '');
    fs.writeFileSync(raw, quote);
    const parsed = await bootkey(['--ca-file', caFile, 'quote', 'parse', raw], { as: 'nobody' });
    expect(parsed.code).toBe(0);
    expect(parsed.stdout).toMatch(new RegExp(`^mrtd: +${IMAGE.mrtd}$`, 'm'));
    const b64 = writeFile('quote.b64', `${quote.toString('base64').replace(/(.{76})/g, '$1\n')}\n`);
    const verified = await bootkey(['--ca-file', caFile, 'quote', 'verify', b64], { as: 'nobody' });
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^dcap verified: +yes$/m);
    expect(verified.stdout).toMatch(/^boot acceptable: +yes\nboot measurements: match gpu-vm 1\.0\.0\nruntime measurements: match gpu-vm 1\.0\.0\n$/m);
    const garbage = await bootkey(['--ca-file', caFile, 'quote', 'parse', writeFile('garbage.bin', 'not a quote at all!')], { as: 'nobody' });
    expect([garbage.code, garbage.stderr]).toEqual([
      1,
      expect.stringMatching(/\(QUOTE_UNSUPPORTED, HTTP 400\)\n {2}what to do: This is not an Intel TDX quote/),
    ]);
  });

  it('admin: audit shows the registration attempts; retire a set; the admin hotkey from a Bittensor wallet', async () => {
    const wallets = path.join(dir, 'wallets');
    fs.mkdirSync(path.join(wallets, 'ops', 'hotkeys'), { recursive: true });
    fs.writeFileSync(path.join(wallets, 'ops', 'hotkeys', 'admin'), JSON.stringify({ secretSeed: ADMIN_SEED, ss58Address: admin.address }), { mode: 0o600 });
    const asWallet = ['--ca-file', caFile, '--wallet-path', wallets, '--wallet', 'ops', '--hotkey', 'admin'];
    expect((await bootkey([...asWallet, 'hotkey', 'show'], { as: 'nobody' })).stdout).toBe(`${admin.address}\n`);

    const audit = await bootkey([...asWallet, '--json', 'audit', '--kind', 'runtime', '--since', '1h', '--limit', '2', '--all'], { as: 'nobody' });
    expect(audit.code).toBe(0);
    const { items } = JSON.parse(audit.stdout) as { items: { kind: string; outcome: string; error_code: string | null }[] };
    expect(items.length).toBeGreaterThanOrEqual(4); // more than one page of 2 was followed
    expect(items.filter((i) => i.kind === 'registration' && i.outcome === 'verified')).toHaveLength(2);
    expect(items.map((i) => i.error_code)).toContain('GPU_MISMATCH');
    const table = await bootkey([...asWallet, 'audit', '--kind', 'runtime', '--limit', '1'], { as: 'nobody' });
    expect(table.stdout).toMatch(
      /^TIME\s+KIND\s+OUTCOME\s+CODE\s+HOTKEY\s+VM\s+IP\s+MEASUREMENT\s+TCB\n\S+\s+registration\s+failed\s+GPU_MISMATCH\s+\S+…\S+\s+srv-cli-9\s+127\.0\.0\.1\s+gpu-vm 1\.0\.0\s+UpToDate\n$/,
    ); // newest first
    expect(table.stderr).toMatch(/more rows: --all reads every page/);

    // No terminal, no --yes: the impact is shown (the servers were removed above; the VM of the keys test booted on it), nothing is retired.
    const refused = await bootkey([...asWallet, 'measurements', 'retire', '1.0.0'], { as: 'nobody' });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/^retiring gpu-vm 1\.0\.0 stops matching 0 registered servers and 1 VM booted on it since /);
    expect(refused.stdout).toMatch(/^no registered server matched it$/m);
    expect(refused.stdout).toMatch(/^HOTKEY\s+VM\s+LAST_BOOT\s+NOTE\n\S+\s+\S+\s+\d{4}-\S+\s+-$/m);
    expect(refused.stderr).toMatch(/needs confirmation; nothing retired\. Pass --yes/);
    expect((await bootkey([...asWallet, 'measurements', 'list'], { as: 'nobody' })).stdout).toMatch(/^gpu-vm\s+1\.0\.0\s+active\s/m);
    const retired = await bootkey([...asWallet, 'measurements', 'retire', '1.0.0', '--yes'], { as: 'nobody' });
    expect([retired.code, retired.stdout.endsWith('\nretired gpu-vm 1.0.0\n')]).toEqual([0, true]);
    expect((await bootkey([...asWallet, 'measurements', 'list'], { as: 'nobody' })).stdout).toMatch(/^gpu-vm\s+1\.0\.0\s+retired\s/m);
    const quote = writeFile('retired-quote.bin', '');
    fs.writeFileSync(quote, forge.quote({ ...fake.quoteOptions }));
    const verified = await bootkey(['--ca-file', caFile, 'quote', 'verify', quote], { as: 'nobody' });
    expect(verified.stdout).toMatch(/^runtime measurements: no match \(no active measurement set\)$/m);
  });

  it('a bad seed file is a usage error (2) and nothing is sent', async () => {
    const before = fake.nonces.length;
    const seedFile = writeFile('bad-seed', 'this is not a hex seed\n', 0o600);
    const result = await bootkey(
      ['--ca-file', caFile, '--seed-file', seedFile, 'servers', 'register', '--host', '127.0.0.1', '--id', 'srv-x', '--gpus-file', gpuFile('GPU-x')],
      {
        as: 'nobody',
      },
    );
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `bootkey: seed file ${seedFile} does not hold a hotkey seed: expected 32 bytes as 64 hex characters (optionally 0x-prefixed)\n`,
    });
    expect(fake.nonces.length).toBe(before);
  });

  it('a broker that is down is exit 3, with what to do', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await bootkey(['--url', `http://127.0.0.1:${port}`, 'servers', 'list']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `bootkey: cannot reach the broker at http://127.0.0.1:${port}: connection refused (is the broker running, and is --url right?)\n` +
        '  what to do: check --url (or BOOTKEY_URL), that the broker is running, and that this machine can reach it.\n',
    );
  });
});
