/**
 * `npm run test:deploy`: the reference deployment, tested. Debian's nginx with
 * deploy/nginx/bootkey.conf (only its listen port, certificate files and upstream addresses
 * rewritten for loopback) in front of two broker replicas built from this repository, on one
 * fresh PostgreSQL database, TRUST_PROXY set to the front. VMs boot through the front from their
 * own loopback addresses with their own client certificates. Prints one line per check and
 * `deploy: N passed, N failed`; exits 1 on any failure.
 *
 *   test/deploy/install-deps.sh && node -r ./test/support/forge/ts-register.cjs test/deploy/run.ts
 *   env: PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres), BOOTKEY_TEST_KEEP=1
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ROOT_PASSPHRASE } from '../support/boot-env';
import { generateP256Key } from '../support/forge/ecdsa';
import { openForgeState } from '../support/forge/forge-state';
import { BrokerProcess, buildBroker, createPgDatabase, freePort, NginxFront, PgDatabase, prepareFixtures, sleep, StackFixtures } from '../support/stack';
import { BootAttempt, StackVm, vmAddress, VOLUMES } from '../support/stack-vm';
import { selfSignedCert, TestCert } from '../support/tls';

let passed = 0;
let failed = 0;

async function check(name: string, body: () => Promise<void>): Promise<void> {
  const start = Date.now();
  try {
    await body();
    passed++;
    process.stdout.write(`ok - ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)\n`);
  } catch (error) {
    failed++;
    process.stdout.write(`FAIL - ${name}: ${(error as Error).message}\n`);
  }
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** `{statusCode, error, message, code}` and nothing else, as a JSON answer. */
function expectErrorContract(answer: { status: number; headers: Record<string, unknown>; json: unknown; text: string }, status: number, code: string): void {
  const body = answer.json as Record<string, unknown> | undefined;
  expect(answer.status === status, `expected ${status}, got ${answer.status}: ${answer.text.slice(0, 200)}`);
  expect(String(answer.headers['content-type']).startsWith('application/json'), `content-type ${String(answer.headers['content-type'])}`);
  expect(
    body !== undefined && Object.keys(body).sort().join() === 'code,error,message,statusCode',
    `body is not the error contract: ${answer.text.slice(0, 200)}`,
  );
  expect(
    body!.statusCode === status && body!.code === code && typeof body!.error === 'string' && typeof body!.message === 'string',
    `body: ${answer.text.slice(0, 200)}`,
  );
}

interface AccessLine {
  address: string;
  method: string;
  uri: string;
  status: number;
  upstream: string;
}

function accessLog(front: string): AccessLine[] {
  return fs
    .readFileSync(path.join(front, 'access.log'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [address, method, uri, status, ...upstreams] = line.split(' ');
      // "$upstream_addr" lists every replica tried ("a:1, b:2"); the last one answered.
      return { address, method, uri, status: Number(status), upstream: upstreams.join(' ').split(',').pop()!.trim() };
    });
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-deploy-'));
  const brokers: BrokerProcess[] = [];
  let front: NginxFront | undefined;
  let database: PgDatabase | undefined;
  try {
    const started = Date.now();
    const main = buildBroker(path.join(dir, 'build'));
    const fixtures: StackFixtures = await prepareFixtures(dir, 2);
    database = await createPgDatabase('deploy');
    const ports = [await freePort(), await freePort()];
    for (const [i, name] of ['a', 'b'].entries()) {
      const broker = new BrokerProcess(
        name,
        {
          main,
          port: ports[i],
          tls: false,
          env: { DATABASE_URL: database.url, TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'warn' },
          logFile: path.join(dir, `broker-${name}.log`),
        },
        fixtures,
      );
      brokers.push(broker);
      await broker.start(); // one after the other: the first migrates the fresh database
    }
    const frontDir = path.join(dir, 'nginx');
    front = new NginxFront({ dir: frontDir, port: await freePort(), upstreams: ports, fixtures });
    await front.start();
    process.stderr.write(
      `deploy: nginx ${front.url} → replicas a :${ports[0]}, b :${ports[1]} on ${database.name} (set-up ${((Date.now() - started) / 1000).toFixed(0)} s)\n`,
    );

    const { pki } = await openForgeState(fixtures.forgeStateDir);
    const target = { url: front.url, caPem: fixtures.serverCert.certPem };
    let nextVm = 0;
    const makeVm = async (): Promise<StackVm> => {
      const index = nextVm++;
      return new StackVm(target, pki, {
        index,
        vmName: `deploy-vm-${index}`,
        hotkey: fixtures.minerHotkeys[index % fixtures.minerHotkeys.length],
        localAddress: vmAddress(index),
        cert: await selfSignedCert(`deploy-vm-${index} ephemeral`),
        attestationKey: generateP256Key(),
      });
    };
    const upstreamName = (address: string) => (address.endsWith(`:${ports[0]}`) ? 'a' : address.endsWith(`:${ports[1]}`) ? 'b' : address);
    const servedBy = (vm: StackVm, uri: string) =>
      accessLog(frontDir)
        .filter((line) => line.address === vm.identity.localAddress && line.uri === uri)
        .map((line) => upstreamName(line.upstream));
    const expectBooted = (attempt: BootAttempt, what: string) => {
      expect(attempt.ok, `${what}: ${attempt.step} ${attempt.networkError ?? `${attempt.status} ${attempt.code ?? ''}`}`);
      expect(attempt.key === ROOT_PASSPHRASE, `${what}: wrong root key`);
      expect(
        VOLUMES.every((v) => /^[0-9a-f]{128}$/.test(String(attempt.volumes?.[v]))),
        `${what}: volumes ${JSON.stringify(Object.keys(attempt.volumes ?? {}))}`,
      );
    };

    await check('/healthz and /readyz answer through the front', async () => {
      const vm = await makeVm();
      for (const route of ['/healthz', '/readyz']) {
        const answer = await vm.request('GET', route);
        expect(answer.status === 200, `${route}: ${answer.status}`);
      }
    });

    await check("a VM's nonce comes from one replica and its attestation is served by the other", async () => {
      let crossed = 0;
      for (let i = 0; i < 20 && (crossed < 2 || i < 4); i++) {
        const vm = await makeVm();
        expectBooted(await vm.boot(), vm.identity.vmName);
        const nonce = servedBy(vm, '/servers/nonce');
        const attestation = servedBy(vm, '/servers/boot/attestation');
        expect(nonce.length === 1 && attestation.length === 1, `access log: nonce ${nonce.join()}, attestation ${attestation.join()}`);
        if (nonce[0] !== attestation[0]) crossed++;
      }
      expect(crossed >= 1, 'no VM had its nonce and its attestation on different replicas');
    });

    await check("the broker sees the VM: its address (not the front's, not one the VM wrote) binds the nonce", async () => {
      const vm = await makeVm();
      // A VM writing X-Forwarded-For gains nothing: the front replaces it with the VM's address,
      // so the nonce is bound to that address and the attestation from it succeeds.
      const nonce = await vm.request<{ nonce: string }>('GET', '/servers/nonce', { 'x-forwarded-for': '203.0.113.7' });
      expect(nonce.status === 200, `nonce ${nonce.status}`);
      const attested = await vm.request<{ key: string }>(
        'POST',
        '/servers/boot/attestation',
        { 'x-chutes-nonce': nonce.json.nonce },
        {
          quote: vm.quote(nonce.json.nonce).toString('base64'),
          miner_hotkey: vm.identity.hotkey,
          vm_name: vm.identity.vmName,
        },
      );
      expect(attested.status === 200 && attested.json.key === ROOT_PASSPHRASE, `attestation ${attested.status} ${attested.text.slice(0, 200)}`);
      // The same nonce presented from another address is refused.
      const other = await makeVm();
      const nonce2 = await vm.request<{ nonce: string }>('GET', '/servers/nonce');
      const stolen = await other.request<{ code: string }>(
        'POST',
        '/servers/boot/attestation',
        { 'x-chutes-nonce': nonce2.json.nonce },
        {
          quote: other.quote(nonce2.json.nonce).toString('base64'),
          miner_hotkey: other.identity.hotkey,
          vm_name: other.identity.vmName,
        },
      );
      expect(stolen.status === 401 && stolen.json.code === 'NONCE_INVALID', `nonce from another address: ${stolen.status} ${stolen.text.slice(0, 200)}`);
    });

    await check('an X-Client-Cert written by the VM is dropped: only the TLS client certificate counts', async () => {
      const vm = await makeVm();
      const other: TestCert = await selfSignedCert('someone else');
      const nonce = await vm.request<{ nonce: string }>('GET', '/servers/nonce');
      // The quote binds `other`'s key; the VM's TLS certificate is its own; the header names `other`.
      const answer = await vm.request<{ code: string }>(
        'POST',
        '/servers/boot/attestation',
        { 'x-chutes-nonce': nonce.json.nonce, 'x-client-cert': encodeURIComponent(other.certPem) },
        { quote: vm.quote(nonce.json.nonce, other).toString('base64'), miner_hotkey: vm.identity.hotkey, vm_name: vm.identity.vmName },
      );
      expect(answer.status === 401 && answer.json.code === 'REPORT_DATA_MISMATCH', `${answer.status} ${answer.text.slice(0, 200)}`);
      // Without any TLS client certificate, the header alone is not believed either.
      const nonce2 = await vm.request<{ nonce: string }>('GET', '/servers/nonce');
      const bare = await vm.request<{ code: string }>(
        'POST',
        '/servers/boot/attestation',
        { 'x-chutes-nonce': nonce2.json.nonce, 'x-client-cert': encodeURIComponent(other.certPem) },
        { quote: vm.quote(nonce2.json.nonce, other).toString('base64'), miner_hotkey: vm.identity.hotkey, vm_name: vm.identity.vmName },
        { cert: null },
      );
      expect(bare.status === 401 && bare.json.code === 'CLIENT_CERT_REQUIRED', `${bare.status} ${bare.text.slice(0, 200)}`);
    });

    await check('a 2 MB body is refused by the front as a JSON 413 BODY_TOO_LARGE', async () => {
      const vm = await makeVm();
      const answer = await vm.request(
        'POST',
        '/servers/boot/attestation',
        { 'x-chutes-nonce': '0'.repeat(64) },
        JSON.stringify({ quote: 'A'.repeat(2 * 1024 * 1024) }),
      );
      expectErrorContract(answer, 413, 'BODY_TOO_LARGE');
    });

    await check('an unknown path is a JSON 404 NOT_FOUND', async () => {
      const vm = await makeVm();
      expectErrorContract(await vm.request('GET', '/no/such/path'), 404, 'NOT_FOUND');
    });

    await check("a malformed request is the front's JSON 400", async () => {
      const answer = await rawRequest(front!.url, fixtures.serverCert.certPem, 'GET / HTTP/1.1\r\nHost: broker\r\nBad Header Line\r\n\r\n');
      expectErrorContract(answer, 400, 'VALIDATION_FAILED');
    });

    await check("a flood from one address meets the front's JSON 429 RATE_LIMITED with Retry-After", async () => {
      const vm = await makeVm();
      const answers = await Promise.all(Array.from({ length: 40 }, () => vm.request('GET', '/servers/nonce')));
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length > 0, `no 429 among ${answers.map((a) => a.status).join(',')}`);
      expectErrorContract(limited[0], 429, 'RATE_LIMITED');
      expect(limited[0].headers['retry-after'] !== undefined, 'no Retry-After');
    });

    await check('replica A stopped mid-run: boots continue through B', async () => {
      let started = 0;
      let stopping: Promise<void> | undefined;
      let aGone = false;
      let bootsAfterExit = 0;
      const retried: string[] = [];
      const worker = async () => {
        // Keep booting until six VMs booted after A had exited (at most 80 VMs in all).
        while (bootsAfterExit < 6 && started < 80) {
          if (++started === 8) stopping = brokers[0].stop().then(() => void (aGone = true));
          const afterExit = aGone;
          const vm = await makeVm();
          let attempt = await vm.boot();
          // As the initramfs: a refusal for load or a front error is retried with a fresh nonce.
          for (let retry = 0; !attempt.ok && retry < 3 && (attempt.networkError !== undefined || (attempt.status ?? 0) >= 500); retry++) {
            retried.push(`${vm.identity.vmName} ${attempt.step} ${attempt.networkError ?? `${attempt.status} ${attempt.code ?? ''}`}`);
            await sleep(300);
            attempt = await vm.boot();
          }
          expectBooted(attempt, vm.identity.vmName);
          if (afterExit) {
            bootsAfterExit++;
            expect(
              servedBy(vm, '/servers/boot/attestation').every((name) => name === 'b'),
              `${vm.identity.vmName} not served by b`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      await stopping;
      expect(bootsAfterExit >= 6, `only ${bootsAfterExit} boots after replica A exited`);
      if (retried.length > 0) process.stderr.write(`deploy: boots retried while A stopped (${retried.length}): ${retried.slice(0, 5).join('; ')}\n`);
    });

    await check('with no replica left, the front answers a JSON 502 UPSTREAM_UNAVAILABLE with Retry-After', async () => {
      await brokers[1].stop();
      const vm = await makeVm();
      const answer = await vm.request('GET', '/servers/nonce');
      expectErrorContract(answer, 502, 'UPSTREAM_UNAVAILABLE');
      expect(answer.headers['retry-after'] !== undefined, 'no Retry-After');
    });
  } catch (error) {
    failed++;
    process.stdout.write(`FAIL - set-up: ${(error as Error).stack ?? String(error)}\n`);
  } finally {
    await front?.stop().catch(() => undefined);
    for (const broker of brokers) await broker.stop().catch(() => undefined);
    await database?.drop().catch((error: unknown) => process.stderr.write(`deploy: could not drop ${database?.name}: ${(error as Error).message}\n`));
    if (failed === 0 && !process.env.BOOTKEY_TEST_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`deploy: files kept in ${dir}\n`);
  }
  process.stdout.write(`deploy: ${passed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}

/** Writes `raw` over TLS and reads the answer (for requests no HTTP client would send). */
function rawRequest(url: string, caPem: string, raw: string): Promise<{ status: number; headers: Record<string, string>; text: string; json: unknown }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ca: caPem, servername: undefined }, () => socket.write(raw));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = received.split('\r\n\r\n');
      const [statusLine, ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const text = rest.join('\r\n\r\n');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, json });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`deploy: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
