/**
 * `npm run bench:storm`: a datacenter's VMs all booting at once. Starts the real broker (built
 * dist, HTTPS with a test certificate, PostgreSQL or PGlite) as separate processes — one, or two
 * behind the reference nginx front (deploy/nginx/bootkey.conf) — prepares N VM identities in
 * forked generator processes before the clock starts, then runs N full boots at concurrency C
 * the way the initramfs does (see test/support/stack-vm.ts). Prints one line:
 *
 *   storm: boots_per_s=… p50_ms=… p99_ms=… errors=… broker_cpu_ms_per_boot=… broker_rss_mb=… generator_cpu_ms_per_boot=… […]
 *
 * p50/p99 are of admitted boot attempts (nonce → attestation → sync); errors counts every refused
 * or failed request (by status after the mandatory fields); broker CPU and peak RSS come from
 * /proc of the broker processes. Figures are printed, never asserted.
 *
 *   npm run bench:storm -- --n 2000 --c 100 [--db pglite|postgres] [--replicas 1|2] [--keepalive]
 *       [--workers 2] [--warmup N] [--max-inflight N] [--log-level info] [--cpu-prof DIR] [--no-build] [--keep]
 *
 * --warmup N boots N other VMs (at the same concurrency) before the clock starts, so a short run
 * measures a broker whose code is compiled and whose pools are open rather than its start.
 */
import { ChildProcess, fork } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  BrokerProcess,
  buildBroker,
  createPgDatabase,
  freePort,
  log,
  NginxFront,
  PgDatabase,
  prepareFixtures,
  processCpuMs,
  processCpuSplitMs,
  processRssMb,
  REPO,
  sleep,
} from '../../test/support/stack';
import type { PrepareMessage, WorkerResult } from './worker';

const USAGE = `usage: npm run bench:storm -- [--n 2000] [--c 100] [--db postgres|pglite] [--replicas 1|2] [--keepalive]
       [--workers 2] [--warmup 0] [--max-inflight N] [--log-level info] [--cpu-prof DIR] [--env VAR=VALUE]... [--no-build] [--keep]`;

interface Options {
  n: number;
  c: number;
  db: 'postgres' | 'pglite';
  replicas: 1 | 2;
  keepalive: boolean;
  workers: number;
  warmup: number;
  maxInflight?: string;
  logLevel: string;
  cpuProf?: string;
  env: Record<string, string>;
  build: boolean;
  keep: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '2000' },
      c: { type: 'string', default: '100' },
      db: { type: 'string', default: 'postgres' },
      replicas: { type: 'string', default: '1' },
      keepalive: { type: 'boolean', default: false },
      workers: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '0' },
      'max-inflight': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'cpu-prof': { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      'no-build': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const usage = (problem: string): never => {
    process.stderr.write(`bench:storm: ${problem}\n${USAGE}\n`);
    process.exit(2);
  };
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const whole = (name: string, value: string, min: number) => {
    const n = Number(value);
    return Number.isInteger(n) && n >= min ? n : usage(`--${name} must be a whole number ≥ ${min}`);
  };
  if (values.db !== 'postgres' && values.db !== 'pglite') usage('--db must be postgres or pglite');
  if (values.replicas !== '1' && values.replicas !== '2') usage('--replicas must be 1 or 2');
  if (values.replicas === '2' && values.db === 'pglite') usage('--replicas 2 needs --db postgres (PGlite lives inside one process)');
  const env: Record<string, string> = {};
  for (const entry of values.env) {
    const eq = entry.indexOf('=');
    if (eq < 1) usage('--env takes VAR=VALUE');
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return {
    n: whole('n', values.n, 1),
    c: whole('c', values.c, 1),
    db: values.db as Options['db'],
    replicas: Number(values.replicas) as Options['replicas'],
    keepalive: values.keepalive,
    workers: whole('workers', values.workers, 1),
    warmup: whole('warmup', values.warmup, 0),
    maxInflight: values['max-inflight'],
    logLevel: values['log-level'],
    cpuProf: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    env,
    build: !values['no-build'],
    keep: values.keep,
  };
}

/**
 * CPU µs of one ECDSA P-256 signature here and now: a yardstick printed with the figures, since
 * on a shared machine every CPU figure moves with the neighbours' load.
 */
function referenceSignUs(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const before = process.cpuUsage();
  const rounds = 1000;
  for (let i = 0; i < rounds; i++) sign('sha256', Buffer.from(`yardstick ${i}`), privateKey);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / rounds;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const interrupted = new AbortController();
const interruption = new Promise<never>((_, reject) => interrupted.signal.addEventListener('abort', () => reject(interrupted.signal.reason as Error)));
interruption.catch(() => undefined);

const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'nan');

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bootkey-storm-'));
  const brokers: BrokerProcess[] = [];
  let front: NginxFront | undefined;
  let database: PgDatabase | undefined;
  const workers: ChildProcess[] = [];
  const loadBefore = os.loadavg()[0];
  try {
    let main = path.join(REPO, 'dist/src/main.js');
    if (opts.build || !fs.existsSync(main)) {
      log('storm: building the broker (tsc → dist/)');
      main = buildBroker();
    }
    const fixtures = await prepareFixtures(dir, Math.min(100, Math.ceil(opts.n / 20)));
    const env: Record<string, string> = { LOG_LEVEL: opts.logLevel, ...opts.env };
    if (opts.maxInflight !== undefined) env.MAX_INFLIGHT = opts.maxInflight;
    if (opts.db === 'postgres') {
      database = await createPgDatabase('storm');
      env.DATABASE_URL = database.url;
    } else {
      env.DATA_DIR = path.join(dir, 'data');
    }
    const nodeArgs = opts.cpuProf ? ['-r', path.join(__dirname, 'profile-on-signal.cjs')] : [];
    if (opts.cpuProf) {
      fs.mkdirSync(opts.cpuProf, { recursive: true });
      env.BOOTKEY_PROFILE_DIR = opts.cpuProf;
    }
    let url: string;
    if (opts.replicas === 1) {
      const broker = new BrokerProcess('a', { main, port: await freePort(), tls: true, env, logFile: path.join(dir, 'broker-a.log'), nodeArgs }, fixtures);
      brokers.push(broker);
      await broker.start();
      url = broker.url;
    } else {
      // One after the other: the first one migrates the fresh database.
      for (const name of ['a', 'b']) {
        const broker = new BrokerProcess(
          name,
          { main, port: await freePort(), tls: false, env: { ...env, TRUST_PROXY: '127.0.0.1' }, logFile: path.join(dir, `broker-${name}.log`), nodeArgs },
          fixtures,
        );
        brokers.push(broker);
        await broker.start();
      }
      front = new NginxFront({ dir: path.join(dir, 'nginx'), port: await freePort(), upstreams: brokers.map((b) => Number(new URL(b.url).port)), fixtures });
      await front.start();
      url = front.url;
    }
    log(`storm: ${opts.replicas === 1 ? 'broker' : 'front'} at ${url} (${opts.db}); preparing ${opts.n} VM identities in ${opts.workers} processes`);

    const runId = randomBytes(3).toString('hex');
    const perWorker = Array.from({ length: opts.workers }, (_, w) => Array.from({ length: opts.n }, (_, i) => i).filter((i) => i % opts.workers === w));
    const results: Promise<WorkerResult>[] = [];
    const ready: Promise<void>[] = [];
    const warmPerWorker = Array.from({ length: opts.workers }, (_, w) =>
      Array.from({ length: opts.warmup }, (_, i) => opts.n + i).filter((i) => i % opts.workers === w),
    );
    const warmed: Promise<unknown>[] = [];
    perWorker.forEach((indexes, w) => {
      if (indexes.length === 0) return;
      const child = fork(path.join(__dirname, 'worker.ts'), [], {
        execArgv: ['-r', path.join(REPO, 'test/support/forge/ts-register.cjs')],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      workers.push(child);
      const failed = new Promise<never>((_, reject) => {
        child.once('exit', (code) => reject(new Error(`generator ${w} exited (${code})`)));
      });
      const next = (type: string) =>
        Promise.race([
          failed,
          new Promise<unknown>((resolve, reject) => {
            const onMessage = (message: { type: string; message?: string }) => {
              if (message.type === 'error') reject(new Error(`generator ${w}: ${message.message}`));
              else if (message.type === type) {
                child.off('message', onMessage);
                resolve(message);
              }
            };
            child.on('message', onMessage);
          }),
        ]);
      ready.push(next('ready').then(() => undefined));
      const warm = ready[ready.length - 1].then(async () => {
        child.send({ type: 'warm' });
        await next('warmed');
      });
      warmed.push(warm);
      results.push(warm.then(() => next('done') as Promise<WorkerResult>));
      const share = Math.max(1, Math.round((opts.c * indexes.length) / opts.n));
      const message: PrepareMessage = {
        type: 'prepare',
        url,
        caPem: fixtures.serverCert.certPem,
        keepalive: opts.keepalive,
        forgeStateDir: fixtures.forgeStateDir,
        runId,
        indexes,
        warmupIndexes: warmPerWorker[w],
        hotkeys: fixtures.minerHotkeys,
        concurrency: share,
      };
      child.send(message);
    });
    await Promise.race([Promise.all(ready), interruption]);
    if (opts.warmup > 0) log(`storm: warming up with ${opts.warmup} other boots`);
    await Promise.race([Promise.all(warmed), interruption]);

    const yardstick = referenceSignUs();
    const brokerPids = brokers.map((b) => b.pid).filter((pid): pid is number => pid !== undefined);
    const frontPids = front?.pids() ?? [];
    const cpu = (pids: number[]) => pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
    const brokerCpuBefore = cpu(brokerPids);
    const brokerSysBefore = brokerPids.reduce((sum, pid) => sum + processCpuSplitMs(pid).systemMs, 0);
    // PostgreSQL's backends for this database, when on this machine: those opened during the run count from 0.
    const dbCpuBefore = new Map((database ? await database.backendPids().catch(() => [] as number[]) : []).map((pid) => [pid, processCpuMs(pid)]));
    const frontCpuBefore = cpu(frontPids);
    let peakRssMb = 0;
    const sampleRss = () => {
      for (const pid of brokerPids) peakRssMb = Math.max(peakRssMb, processRssMb(pid));
    };
    sampleRss();
    const sampler = setInterval(sampleRss, 100);
    log(`storm: go — ${opts.n} boots at concurrency ${opts.c}${opts.keepalive ? ' (keep-alive per boot)' : ''}`);
    if (opts.cpuProf) {
      for (const broker of brokers) broker.signal('SIGWINCH');
      await sleep(500);
    }
    const start = performance.now();
    for (const child of workers) child.send({ type: 'go' });
    const brokerDied = Promise.race(brokers.map((b) => b.unexpectedExit()));
    const done = await Promise.race([Promise.all(results), brokerDied, interruption]);
    const seconds = (performance.now() - start) / 1000;
    clearInterval(sampler);
    if (opts.cpuProf) {
      for (const broker of brokers) broker.signal('SIGWINCH');
      await sleep(3000);
    }
    sampleRss();
    const brokerCpuMs = cpu(brokerPids) - brokerCpuBefore;
    const brokerSysMs = brokerPids.reduce((sum, pid) => sum + processCpuSplitMs(pid).systemMs, 0) - brokerSysBefore;
    const dbPids = database ? await database.backendPids().catch(() => [] as number[]) : [];
    const dbCpuMs = dbPids.reduce((sum, pid) => sum + processCpuMs(pid) - (dbCpuBefore.get(pid) ?? 0), 0);
    const frontCpuMs = cpu(frontPids) - frontCpuBefore;

    const latencies = done.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    const boots = latencies.length;
    const errors: Record<string, number> = {};
    for (const r of done) for (const [status, count] of Object.entries(r.errors)) errors[status] = (errors[status] ?? 0) + count;
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    const failed = done.reduce((sum, r) => sum + r.failed, 0);
    const generatorCpuMs = done.reduce((sum, r) => sum + r.cpuMs, 0);
    for (const r of done) for (const failure of r.failures) log(`storm: failed boot: ${failure}`);
    const fields = [
      `boots_per_s=${fixed(boots / seconds)}`,
      `p50_ms=${fixed(percentile(latencies, 50), 0)}`,
      `p99_ms=${fixed(percentile(latencies, 99), 0)}`,
      `errors=${errorCount}`,
      `broker_cpu_ms_per_boot=${fixed(brokerCpuMs / boots, 2)}`,
      `broker_rss_mb=${fixed(peakRssMb, 0)}`,
      `generator_cpu_ms_per_boot=${fixed(generatorCpuMs / boots, 2)}`,
      // Context after the mandatory fields.
      `n=${opts.n}`,
      `c=${opts.c}`,
      `db=${opts.db}`,
      `replicas=${opts.replicas}`,
      `keepalive=${opts.keepalive}`,
      `warmup=${opts.warmup}`,
      `failed_boots=${failed}`,
      `errors_by=${
        Object.entries(errors)
          .map(([k, v]) => `${k}:${v}`)
          .join(',') || '-'
      }`,
      `broker_kernel_share=${fixed(brokerSysMs / brokerCpuMs, 2)}`,
      `generator_loop_delay_p99_ms=${fixed(Math.max(...done.map((r) => r.loopDelayP99Ms)), 0)}`,
      ...(dbPids.length > 0 ? [`db_backend_cpu_ms_per_boot=${fixed(dbCpuMs / boots, 2)}`] : []),
      ...(front ? [`front_cpu_ms_per_boot=${fixed(frontCpuMs / boots, 2)}`] : []),
      `seconds=${fixed(seconds, 1)}`,
      `loadavg_before=${fixed(loadBefore, 1)}`,
      `ref_p256_sign_us=${fixed(yardstick, 0)}`,
      `cores=${os.cpus().length}`,
    ];
    process.stdout.write(`storm: ${fields.join(' ')}\n`);
  } finally {
    for (const child of workers) if (child.exitCode === null) child.kill();
    await front?.stop();
    for (const broker of brokers) await broker.stop();
    if (database) await database.drop().catch((error: unknown) => log(`storm: could not drop ${database?.name}: ${(error as Error).message}`));
    if (opts.keep) log(`storm: files kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
    if (opts.cpuProf) log(`storm: CPU profiles in ${opts.cpuProf} (summary: node -r ./test/support/forge/ts-register.cjs bench/storm/profile-summary.ts FILE)`);
  }
}

// Ctrl-C: stop through the same clean-up (brokers, nginx, the database) as a normal end.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupted.abort(new Error(`interrupted (${signal})`)));

main().catch((error: unknown) => {
  process.stderr.write(`bench:storm: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
