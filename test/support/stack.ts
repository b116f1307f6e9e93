/**
 * A real broker stack on loopback, for the benches and the deployment test: the broker built from
 * this repository and run as separate processes (HTTPS with a test certificate, or plain HTTP
 * behind the front), a fresh PostgreSQL database per run (dropped afterwards) or PGlite, the test
 * forge's trust anchor and collateral, a measurement set VMs boot against, and optionally the
 * reference nginx front (deploy/nginx/bootkey.conf) from Debian's nginx, run as a foreground
 * process with its own prefix in the run's temp dir (never /etc/nginx, never the system service).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { IMAGE, ROOT_PASSPHRASE, ss58Address } from './boot-env';
import { openForgeState } from './forge/forge-state';
import { selfSignedCert, TestCert } from './tls';

export const REPO = path.resolve(__dirname, '../..');
export const DEFAULT_PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** An unused loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/** Compiles the broker (as `npm start` does) into `outDir` (default dist/); returns main.js. */
export function buildBroker(outDir = path.join(REPO, 'dist')): string {
  execFileSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return path.join(outDir, 'src/main.js');
}

export interface PgDatabase {
  url: string;
  name: string;
  /** Server processes serving this database now (meaningful when PostgreSQL runs on this machine). */
  backendPids(): Promise<number[]>;
  drop(): Promise<void>;
}

/** A fresh database on the PostgreSQL server behind `adminUrl`, dropped by `drop()`. */
export async function createPgDatabase(label: string, adminUrl = process.env.PG_ADMIN_URL ?? DEFAULT_PG_ADMIN_URL): Promise<PgDatabase> {
  const name = `bootkey_${label}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    backendPids: async () => {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
        return rows.map((row) => row.pid);
      } finally {
        await client.end();
      }
    },
    drop: async () => {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface StackFixtures {
  dir: string;
  /** The forge's state dir: worker processes open the same PKI from it to sign quotes. */
  forgeStateDir: string;
  /** The broker's HTTPS certificate (also the front's); clients pin it. */
  serverCert: TestCert & { certFile: string; keyFile: string };
  minerHotkeys: string[];
  /** Environment every broker of the stack shares (trust anchor, collateral, measurements, KEK). */
  env: Record<string, string>;
}

/** Test PKI + collateral, the measurement set of IMAGE with its root passphrase, a TLS cert, a KEK. */
export async function prepareFixtures(dir: string, miners = 1): Promise<StackFixtures> {
  const forgeStateDir = path.join(dir, 'forge');
  const forge = await openForgeState(forgeStateDir);
  fs.writeFileSync(path.join(dir, 'root-passphrase'), `${ROOT_PASSPHRASE}\n`, { mode: 0o600 });
  const rtmrs = (indent: string, withRtmr3: boolean) => [
    `${indent}rtmr0: ${IMAGE.rtmr0}`,
    `${indent}rtmr1: ${IMAGE.rtmr1}`,
    `${indent}rtmr2: ${IMAGE.rtmr2}`,
    ...(withRtmr3 ? [`${indent}rtmr3: ${IMAGE.rtmr3}`] : []),
  ];
  fs.writeFileSync(
    path.join(dir, 'measurements.yaml'),
    [
      'measurements:',
      `  - name: ${IMAGE.name}`,
      `    version: ${IMAGE.version}`,
      `    mrtd: ${IMAGE.mrtd}`,
      '    boot_rtmrs:',
      ...rtmrs('      ', false),
      '    runtime_rtmrs:',
      ...rtmrs('      ', true),
      '    expected_gpus: [nvidia-h100-80gb-hbm3]',
      '    root_passphrase_file: root-passphrase',
      '',
    ].join('\n'),
  );
  const cert = await selfSignedCert('bootkey stack server', true);
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  fs.writeFileSync(certFile, cert.certPem);
  fs.writeFileSync(keyFile, cert.keyPem, { mode: 0o600 });
  const minerHotkeys: string[] = [];
  for (let i = 0; i < miners; i++) minerHotkeys.push(await ss58Address(`//bootkey-stack-miner-${i}`));
  return {
    dir,
    forgeStateDir,
    serverCert: { ...cert, certFile, keyFile },
    minerHotkeys,
    env: {
      COLLATERAL_DIR: forge.paths.collateralDir,
      DCAP_ROOT_CA_FILE: forge.paths.rootCaPem,
      MEASUREMENTS_FILE: path.join(dir, 'measurements.yaml'),
      BROKER_KEKS: `stack:${randomBytes(32).toString('base64')}`,
    },
  };
}

export interface BrokerProcessOptions {
  main: string;
  port: number;
  /** HTTPS with the fixtures' certificate; false = plain HTTP (behind the front). */
  tls: boolean;
  env: Record<string, string>;
  logFile: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeArgs?: string[];
}

/** One broker replica as a separate process; `url` answers once `start()` resolves. */
export class BrokerProcess {
  private child?: ChildProcess;
  readonly url: string;

  constructor(
    readonly name: string,
    private readonly options: BrokerProcessOptions,
    private readonly fixtures: StackFixtures,
  ) {
    this.url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Rejects if the process exits before `stop()` is called (for racing against a run). */
  unexpectedExit(): Promise<never> {
    return new Promise((_, reject) => {
      this.child?.once('exit', (code, signal) => {
        if (!this.stopping) reject(new Error(`broker ${this.name} exited during the run (${signal ?? code}); log: ${tail(this.options.logFile)}`));
      });
    });
  }

  private stopping = false;

  async start(timeoutMs = 90_000): Promise<void> {
    const out = fs.openSync(this.options.logFile, 'a');
    const tlsEnv: Record<string, string> = this.options.tls
      ? { TLS_CERT_FILE: this.fixtures.serverCert.certFile, TLS_KEY_FILE: this.fixtures.serverCert.keyFile }
      : {};
    this.child = spawn(process.execPath, [...(this.options.nodeArgs ?? []), this.options.main], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NODE_PATH: path.join(REPO, 'node_modules'),
        HOST: '127.0.0.1',
        PORT: String(this.options.port),
        ...this.fixtures.env,
        ...tlsEnv,
        ...this.options.env,
      },
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`broker ${this.name} exited (${this.child.exitCode}); log: ${tail(this.options.logFile)}`);
      if (await ready(`${this.url}/readyz`, this.fixtures.serverCert.certPem)) return;
      await sleep(250);
    }
    throw new Error(`broker ${this.name} did not answer /readyz within ${timeoutMs / 1000} s; log: ${tail(this.options.logFile)}`);
  }

  /** Sends a signal (e.g. SIGWINCH to a broker with bench/storm/profile-on-signal.cjs preloaded). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** SIGTERM (a graceful stop: in-flight requests finish), then SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export interface FrontOptions {
  dir: string;
  port: number;
  upstreams: number[];
  fixtures: StackFixtures;
  /** nginx binary (default: `nginx` on PATH or /usr/sbin/nginx). */
  nginx?: string;
}

/** The nginx binary, or undefined when nginx is not installed. */
export function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(candidate)) return candidate;
  return undefined;
}

/**
 * deploy/nginx/bootkey.conf as shipped, with only its deployment-specific lines rewritten for
 * loopback: the listen port, the certificate files and the upstream servers.
 */
export function frontConfig(options: FrontOptions): string {
  const shipped = fs.readFileSync(path.join(REPO, 'deploy/nginx/bootkey.conf'), 'utf8');
  let servers = 0;
  const site = shipped
    .replace(/^(\s*)listen\s+443 ssl;.*$/m, `$1listen 127.0.0.1:${options.port} ssl;`)
    .replace(/^(\s*)listen\s+\[::\]:443 ssl;.*\n/m, '')
    .replace(/^(\s*)ssl_certificate\s+\S+;/m, `$1ssl_certificate ${options.fixtures.serverCert.certFile};`)
    .replace(/^(\s*)ssl_certificate_key\s+\S+;/m, `$1ssl_certificate_key ${options.fixtures.serverCert.keyFile};`)
    .replace(/^(\s*)server\s+10\.0\.0\.\d+:8080(.*);/gm, (line, indent: string, rest: string) => {
      const port = options.upstreams[servers++];
      return port === undefined ? '' : `${indent}server 127.0.0.1:${port}${rest};`;
    });
  if (servers < options.upstreams.length) throw new Error('deploy/nginx/bootkey.conf: fewer upstream servers than replicas');
  const prefix = options.dir;
  return [
    'daemon off;',
    'master_process on;',
    'worker_processes auto;',
    `pid ${prefix}/nginx.pid;`,
    `error_log ${prefix}/error.log warn;`,
    // As root, nginx would switch its workers to nobody, who cannot read the temp dir.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'events { worker_connections 4096; }',
    'http {',
    // Which replica served what (the deployment test reads it).
    "  log_format bootkey_stack '$remote_addr $request_method $uri $status $upstream_addr';",
    `  access_log ${prefix}/access.log bootkey_stack;`,
    `  client_body_temp_path ${prefix}/tmp/body;`,
    `  proxy_temp_path ${prefix}/tmp/proxy;`,
    `  fastcgi_temp_path ${prefix}/tmp/fastcgi;`,
    `  uwsgi_temp_path ${prefix}/tmp/uwsgi;`,
    `  scgi_temp_path ${prefix}/tmp/scgi;`,
    site,
    '}',
    '',
  ].join('\n');
}

/** The reference nginx front, in the foreground, with its own prefix and configuration. */
export class NginxFront {
  private child?: ChildProcess;
  readonly url: string;

  constructor(private readonly options: FrontOptions) {
    this.url = `https://127.0.0.1:${options.port}`;
  }

  get masterPid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** The master and its workers (for CPU accounting). */
  pids(): number[] {
    const master = this.masterPid;
    if (master === undefined) return [];
    return [master, ...childPids(master)];
  }

  async start(timeoutMs = 15_000): Promise<void> {
    const nginx = this.options.nginx ?? findNginx();
    if (!nginx) throw new Error("nginx is not installed (deploy/install-deps.sh installs Debian's nginx-light)");
    const dir = this.options.dir;
    fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, frontConfig(this.options));
    // -e: the error log before the configuration is read (else the compiled-in /var/log/nginx).
    execFileSync(nginx, ['-t', '-q', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
    const out = fs.openSync(path.join(dir, 'nginx.out'), 'a');
    this.child = spawn(nginx, ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`nginx exited (${this.child.exitCode}); ${tail(path.join(dir, 'error.log'))}`);
      if (await listening(this.options.port)) return;
      await sleep(100);
    }
    throw new Error('nginx did not listen in time');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGQUIT'); // graceful: finish what is in flight
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Direct children of `pid`, from /proc. */
export function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const CLOCK_TICKS_PER_S = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat; 0 if gone. */
export function processCpuMs(pid: number): number {
  const { userMs, systemMs } = processCpuSplitMs(pid);
  return userMs + systemMs;
}

/** CPU time a process has used so far in user space and in the kernel (ms); zeros if gone. */
export function processCpuSplitMs(pid: number): { userMs: number; systemMs: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { userMs: (Number(fields[11]) * 1000) / CLOCK_TICKS_PER_S, systemMs: (Number(fields[12]) * 1000) / CLOCK_TICKS_PER_S };
  } catch {
    return { userMs: 0, systemMs: 0 };
  }
}

/** Resident set size (MiB) of a process now, from /proc/<pid>/status; 0 if gone. */
export function processRssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function ready(url: string, caPem: string): Promise<boolean> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise((resolve) => {
    const req = request(url, { ca: caPem, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
