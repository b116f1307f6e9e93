/**
 * A stand-in TDX VM for trying the CLI without TDX hardware (README "CLI"): an HTTPS
 * attestation service on 0.0.0.0:PORT (default 30443, the broker's ATTESTATION_PORT default) that
 * answers `GET /server/attest?nonce=` with a quote forged by the test PKI in --state-dir, bound to
 * the nonce and to its own TLS key, as a real VM's service does. TEST MATERIAL ONLY: a broker
 * that trusts this PKI trusts forged quotes.
 *
 *   node -r ./test/support/forge/ts-register.cjs test/support/cli-demo-vm.ts --state-dir DIR --print-env
 *       prints the broker's environment (DCAP_ROOT_CA_FILE, COLLATERAL_DIR, ...) and writes
 *       DIR/demo-measurements.yaml (the demo VM's measurement set) and DIR/demo-root-passphrase
 *   node -r ./test/support/forge/ts-register.cjs test/support/cli-demo-vm.ts --state-dir DIR [--port N]
 *       runs the attestation service until interrupted
 */
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { openForgeState } from './forge/forge-state';
import { forgeQuote } from './forge/quote';
import { selfSignedCert } from './tls';

const hex = (byte: string) => byte.repeat(48);
/** The demo VM's registers: what its quotes report and what demo-measurements.yaml expects. */
export const DEMO_IMAGE = { mrtd: hex('d0'), rtmr0: hex('d1'), rtmr1: hex('d2'), rtmr2: hex('d3'), rtmr3: hex('00') };

function measurementsYaml(): string {
  const { mrtd, rtmr0, rtmr1, rtmr2, rtmr3 } = DEMO_IMAGE;
  return [
    'measurements:',
    '  - name: demo-vm',
    '    version: demo-1',
    `    mrtd: ${mrtd}`,
    '    boot_rtmrs:',
    `      rtmr0: ${rtmr0}`,
    `      rtmr1: ${rtmr1}`,
    `      rtmr2: ${rtmr2}`,
    '    runtime_rtmrs:',
    `      rtmr0: ${rtmr0}`,
    `      rtmr1: ${rtmr1}`,
    `      rtmr2: ${rtmr2}`,
    `      rtmr3: ${rtmr3}`,
    '    expected_gpus: [h100]',
    '    root_passphrase_file: demo-root-passphrase',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'state-dir': { type: 'string' }, port: { type: 'string' }, 'print-env': { type: 'boolean' } } });
  const stateDir = path.resolve(values['state-dir'] ?? 'demo-vm');
  const port = Number(values.port ?? '30443');
  const state = await openForgeState(stateDir);
  if (values['print-env']) {
    fs.writeFileSync(path.join(stateDir, 'demo-measurements.yaml'), measurementsYaml());
    fs.writeFileSync(path.join(stateDir, 'demo-root-passphrase'), 'demo root passphrase\n', { mode: 0o600 });
    process.stdout.write(
      [
        `export DCAP_ROOT_CA_FILE=${state.paths.rootCaPem}`,
        `export COLLATERAL_DIR=${state.paths.collateralDir}`,
        `export ATTESTATION_PORT=${port}`,
        'export ALLOW_PRIVATE_HOSTS=true   # the demo VM is on loopback',
        'export GPU_EVIDENCE=skip          # the demo VM has no GPU evidence',
        '',
      ].join('\n'),
    );
    return;
  }
  const cert = await selfSignedCert('bootkey demo VM attestation service', true);
  const reg = (h: string) => Buffer.from(h, 'hex');
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://demo');
    const nonce = url.searchParams.get('nonce') ?? '';
    if (url.pathname !== '/server/attest' || !/^[0-9a-f]{64}$/.test(nonce)) return void res.writeHead(404).end();
    const quote = forgeQuote(state.pki, {
      reportData: Buffer.concat([Buffer.from(nonce, 'hex'), Buffer.from(cert.spkiSha256, 'hex')]),
      mrtd: reg(DEMO_IMAGE.mrtd),
      rtmrs: { rtmr0: reg(DEMO_IMAGE.rtmr0), rtmr1: reg(DEMO_IMAGE.rtmr1), rtmr2: reg(DEMO_IMAGE.rtmr2), rtmr3: reg(DEMO_IMAGE.rtmr3) },
    });
    process.stdout.write(`attest: nonce ${nonce.slice(0, 16)}… → quote of ${quote.length} bytes\n`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ quote: quote.toString('base64'), nvtrust_evidence: null }));
  });
  server.listen(port, '0.0.0.0', () => process.stdout.write(`demo VM attestation service on https://0.0.0.0:${port}/server/attest (Ctrl-C to stop)\n`));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`cli-demo-vm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
